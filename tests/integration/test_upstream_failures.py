"""The far side failing: DNS errors and timeouts, refused and unanswered connections, upstreams
that time out, hang up or talk nonsense. Each gets the right status, Proxy-Status and log
reason, and sluice keeps serving."""

import time

import pytest

from checks import assert_log_line, assert_refused
from client import RawConn, connect_req, get


@pytest.mark.parametrize("name", ["nx.test", "fail.test", "no-such-name.test"])
def test_dns_failure_is_502_dns_error(proxy, name):
    r = get(proxy.addr, "http://%s/echo" % name)
    assert_refused(r, 502, "dns_error")
    assert name in r.text()
    [e] = proxy.wait_logs({"host": name})
    assert_log_line(e, decision="error", reason="dns_error", status=502)


def test_dns_failure_for_connect_is_502(proxy):
    with RawConn(proxy.addr) as c:
        c.send(connect_req("nx.test:443"))
        r = c.read_response("CONNECT")
    assert_refused(r, 502, "dns_error")


def test_dns_timeout_is_504(sluice):
    p = sluice(config={"timeouts": {"dns": "1s"}})
    t0 = time.monotonic()
    r = get(p.addr, "http://slow.test/echo")
    elapsed = time.monotonic() - t0
    assert_refused(r, 504, "dns_timeout")
    assert 0.8 <= elapsed < 3.0, elapsed
    [e] = p.wait_logs({"host": "slow.test"})
    assert_log_line(e, decision="error", reason="dns_timeout", status=504)


def test_slow_dns_does_not_block_other_requests(sluice):
    p = sluice(config={"timeouts": {"dns": "2s"}})
    with RawConn(p.addr) as slow:
        slow.send(b"GET http://slow.test/ HTTP/1.1\r\nHost: slow.test\r\n\r\n")
        t0 = time.monotonic()
        r = get(p.addr, "http://public.test/echo")
        assert r.status == 200
        assert time.monotonic() - t0 < 1.0
        assert slow.read_response().status == 504


def test_connection_refused_is_502(proxy):
    r = get(proxy.addr, "http://192.0.2.11/echo")
    assert_refused(r, 502, "connection_refused")
    [e] = proxy.wait_logs({"host": "192.0.2.11"})
    assert_log_line(e, decision="error", reason="connect_refused", status=502, ip="192.0.2.11")


def test_connection_refused_by_name_is_502(proxy):
    r = get(proxy.addr, "http://refused.test/echo")
    assert_refused(r, 502, "connection_refused")


def test_connect_tunnel_refused_is_502(proxy):
    with RawConn(proxy.addr) as c:
        c.send(connect_req("192.0.2.11:443"))
        r = c.read_response("CONNECT")
    assert_refused(r, 502, "connection_refused")


def test_connect_timeout_is_504(sluice, harness):
    if not harness.blackhole_ok:
        pytest.skip("could not fill the accept queue of 192.0.2.12:80 in this kernel")
    p = sluice(config={"timeouts": {"connect": "500ms"}})
    t0 = time.monotonic()
    r = get(p.addr, "http://blackhole.test/echo")
    elapsed = time.monotonic() - t0
    assert_refused(r, 504, "connection_timeout")
    assert 0.4 <= elapsed < 3.0, elapsed
    [e] = p.wait_logs({"host": "blackhole.test"})
    assert_log_line(e, decision="error", reason="connect_timeout", status=504)


def test_upstream_response_timeout_is_504(sluice):
    p = sluice(config={"timeouts": {"upstream_response": "500ms"}})
    t0 = time.monotonic()
    r = get(p.addr, "http://public.test/sleep/3")
    elapsed = time.monotonic() - t0
    assert r.status == 504, r
    assert elapsed < 2.5, elapsed
    [e] = p.wait_logs({"host": "public.test"})
    assert_log_line(e, decision="error", reason="upstream_timeout", status=504)


def test_upstream_closing_without_response_is_502(proxy):
    r = get(proxy.addr, "http://public.test/close")
    assert r.status == 502, r
    [e] = proxy.wait_logs({"host": "public.test"})
    assert_log_line(e, decision="error", reason="upstream_closed", status=502)


def test_upstream_garbage_response_is_502(proxy):
    r = get(proxy.addr, "http://public.test/garbage")
    assert r.status == 502, r
    assert b"THIS IS NOT HTTP" not in r.body
    [e] = proxy.wait_logs({"host": "public.test"})
    assert_log_line(e, decision="error", reason="upstream_bad_response", status=502)


def test_proxy_still_serves_after_upstream_failures(proxy):
    for url in ("http://nx.test/", "http://192.0.2.11/", "http://public.test/close",
                "http://public.test/garbage"):
        get(proxy.addr, url)
    assert get(proxy.addr, "http://public.test/echo").status == 200
