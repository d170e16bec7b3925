"""Connection limits (issue 5, item 1): per agent and in total, each refused with RFC 9209
connection_limit_reached; a freed slot is usable again."""

import time

import pytest

from checks import assert_refused
from client import RawConn, parse_proxy_status, request
from fault_servers import FaultServer
from stub_server import ensure_lo_addresses

REQ = b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n"


def open_served(addr):
    c = RawConn(addr)
    c.send(REQ)
    assert c.read_response().status == 200
    return c  # kept open: a keep-alive connection the agent holds


def test_connections_per_agent_are_limited(sluice):
    p = sluice(config={"workers": 1, "limits": {"max_connections_per_agent": 2}})
    held = [open_served(p.addr), open_served(p.addr)]
    try:
        with RawConn(p.addr) as third:
            third.send(REQ)
            r = third.read_response()
            assert_refused(r, 429, "connection_limit_reached")
            assert "max_connections_per_agent" in r.text()
        [e] = p.wait_logs({"reason": "connection_limit"})
        assert e["decision"] == "deny" and e["agent"] == "default"
        # The held connections keep working, and a freed slot is taken again.
        held[0].send(REQ)
        assert held[0].read_response().status == 200
        held.pop().close()
        # sluice frees the slot when it sees the close: allow it a moment.
        deadline = time.monotonic() + 3
        while True:
            c = RawConn(p.addr)
            c.send(REQ)
            r = c.read_response()
            if r.status == 200:
                held.append(c)
                break
            c.close()
            assert r.status == 429 and time.monotonic() < deadline, r
            time.sleep(0.05)
    finally:
        for c in held:
            c.close()


def test_total_connections_limit_answers_503(sluice):
    p = sluice(config={"workers": 1, "limits": {"max_connections": 2}})
    held = [open_served(p.addr), open_served(p.addr)]
    try:
        with RawConn(p.addr) as third:
            r = third.read_response()
            assert r.status == 503
            ps = parse_proxy_status(r.header("Proxy-Status"))
            assert ps["error"] == "connection_limit_reached"
    finally:
        for c in held:
            c.close()


def test_pending_dns_lookups_are_limited(sluice):
    """A flood of names nobody answers cannot pile up DNS queries: past the limit a request is
    refused at once with 503 (dns_error), and the slot frees when the lookup ends."""
    p = sluice(config={"workers": 1, "limits": {"max_pending_dns": 1},
                       "timeouts": {"dns": "1500ms"}})
    slow = RawConn(p.addr)
    try:
        slow.send(b"GET http://slow.test/ HTTP/1.1\r\nHost: slow.test\r\n\r\n")
        time.sleep(0.2)  # its lookup is now pending
        with RawConn(p.addr) as other:
            other.send(b"GET http://slow.test/x HTTP/1.1\r\nHost: slow.test\r\n\r\n")
            r = other.read_response()
            assert_refused(r, 503, "dns_error")
        assert slow.read_response().status == 504  # the pending one times out as usual
    finally:
        slow.close()
    [e] = p.wait_logs({"reason": "dns_busy"})
    assert e["status"] == 503
    # The slot is free again: a resolvable name works.
    with RawConn(p.addr) as c:
        c.send(REQ)
        assert c.read_response().status == 200


def head_with_fields(n, target=b"http://public.test/echo"):
    fields = b"".join(b"X-F%d: v\r\n" % i for i in range(n))
    return b"GET " + target + b" HTTP/1.1\r\nHost: public.test\r\n" + fields + b"\r\n"


def test_request_header_count_default_is_100(sluice):
    """Host plus 99 fields is the most a request may carry by default; one more is 431."""
    p = sluice(config={"workers": 1})
    with RawConn(p.addr) as c:
        c.send(head_with_fields(99))
        r = c.read_response()
        # Forwarded: the answer is the origin's (Python's own limit is also 100 fields, and
        # sluice adds Via, so the origin may refuse it; what matters is that sluice did not).
        assert r.header("Server") == "fake-origin/1" and r.header("Proxy-Status") is None, r
    with RawConn(p.addr) as c:
        c.send(head_with_fields(100))
        r = c.read_response()
        assert_refused(r, 431, "http_request_error")
        assert "too many header fields" in r.text()
    [e] = p.wait_logs({"reason": "head_too_large"})
    assert e["status"] == 431


def test_request_header_count_is_configurable(sluice):
    p = sluice(config={"workers": 1, "limits": {"max_request_headers": 5}})
    with RawConn(p.addr) as c:
        c.send(head_with_fields(4))  # Host + 4
        r = c.read_response()
        assert r.status == 200
        assert ["X-F3", "v"] in r.json()["headers"]
    with RawConn(p.addr) as c:
        c.send(head_with_fields(5))
        assert_refused(c.read_response(), 431, "http_request_error")


# ---- response heads: limits.max_response_head and limits.max_response_headers ---------------

HEADS_IP = "192.0.2.40"


def many_fields_response(conn, rec):
    """Answers GET /<n>/<size> with n fields of size-byte values, then a 2-byte body."""
    target = rec["head"].split(b" ", 2)[1]
    n, size = (int(x) for x in target.rsplit(b"/", 2)[-2:])
    fields = b"".join(b"X-R%d: %s\r\n" % (i, b"v" * size) for i in range(n))
    conn.sendall(b"HTTP/1.1 200 OK\r\n" + fields + b"Content-Length: 2\r\nConnection: close"
                 b"\r\n\r\nok")


@pytest.fixture(scope="module")
def heads_origin(harness):
    ensure_lo_addresses([HEADS_IP])
    srv = FaultServer(HEADS_IP, 80, many_fields_response).start()
    yield srv
    srv.stop()


def fetch(p, n, size):
    return request(p.addr, b"GET http://%s/%d/%d HTTP/1.1\r\nHost: %s\r\n\r\n"
                   % (HEADS_IP.encode(), n, size, HEADS_IP.encode()))


def test_response_head_limits(sluice, heads_origin):
    p = sluice(config={"workers": 1})
    # 98 fields, Content-Length and Connection: the default limit of 100, relayed.
    r = fetch(p, 98, 8)
    assert r.status == 200 and r.body == b"ok" and r.header("X-R97") == "v" * 8, r
    r = fetch(p, 99, 8)
    assert_refused(r, 502, "http_response_header_section_size")
    assert b"X-R" not in r.raw_head
    # 65 fields of 1,000 bytes: over the default 64 KiB head.
    r = fetch(p, 65, 1000)
    assert_refused(r, 502, "http_response_header_section_size")
    logs = p.wait_logs({"reason": "upstream_head_too_large"}, count=2)
    assert len(logs) == 2 and all(e["status"] == 502 for e in logs), logs

    q = sluice(config={"workers": 1, "limits": {"max_response_headers": 300,
                                                "max_response_head": 262144}})
    r = fetch(q, 298, 8)
    assert r.status == 200 and r.header("X-R297") == "v" * 8, r
    assert_refused(fetch(q, 299, 8), 502, "http_response_header_section_size")
    r = fetch(q, 150, 1000)
    assert r.status == 200 and len(r.header("X-R149")) == 1000 and r.body == b"ok", r


def test_raised_request_header_limit_forwards_every_field(sluice, heads_origin):
    p = sluice(config={"workers": 1, "limits": {"max_request_headers": 300}})
    heads_origin.clear()
    fields = b"".join(b"X-F%d: v\r\n" % i for i in range(250))
    r = request(p.addr, b"GET http://%s/1/1 HTTP/1.1\r\nHost: %s\r\n%s\r\n"
                % (HEADS_IP.encode(), HEADS_IP.encode(), fields))
    assert r.status == 200, r
    [rec] = heads_origin.wait_finished(1)
    got = [ln for ln in rec["head"].split(b"\r\n") if ln.startswith(b"X-F")]
    assert len(got) == 250
