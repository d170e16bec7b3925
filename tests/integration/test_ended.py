"""Issue 11: every end line says who ended the request and in which connection state, as one
field "ended":"<by>/<state>" (docs/logs.md); open lines do not have it."""

from checks import assert_log_line
from client import RawConn, connect_req, get, request
from sluice_proc import Sluice


def _line(p, **match):
    [e] = p.wait_logs(match)
    return e


def test_complete_exchange_is_done_while_forwarding(proxy):
    assert get(proxy.addr, "http://public.test/echo").status == 200
    e = _line(proxy, host="public.test")
    assert_log_line(e, decision="allow", reason="allowed", ended="done/forwarding")


def test_refused_literal_is_ended_by_policy_before_any_lookup(proxy, canaries):
    assert get(proxy.addr, "http://169.254.169.254/latest/").status == 403
    e = _line(proxy, host="169.254.169.254")
    assert_log_line(e, decision="deny", reason="ip_metadata", ended="policy/read_head")


def test_refused_dns_answer_is_ended_by_policy_while_resolving(sluice, canaries):
    p = sluice()  # an empty DNS cache: the name is looked up
    assert get(p.addr, "http://internal.test/").status == 403
    e = _line(p, host="internal.test")
    assert_log_line(e, decision="deny", reason="ip_non_global", ended="policy/resolving")


def test_malformed_request_is_ended_by_the_client(proxy):
    r = request(proxy.addr, b"GET /echo HTTP/1.1\r\nHost: public.test\r\n\r\n")
    assert r.status == 400
    e = _line(proxy, reason="not_a_proxy_request")
    assert_log_line(e, decision="error", ended="client/read_head")


def test_dns_error_is_ended_by_the_upstream_while_resolving(proxy):
    assert get(proxy.addr, "http://nx.test/echo").status == 502
    e = _line(proxy, host="nx.test")
    assert_log_line(e, reason="dns_error", ended="upstream/resolving")


def test_upstream_closing_is_ended_by_the_upstream_while_forwarding(proxy):
    assert get(proxy.addr, "http://public.test/close").status == 502
    e = _line(proxy, host="public.test")
    assert_log_line(e, reason="upstream_closed", ended="upstream/forwarding")


def test_refused_connection_is_ended_by_the_upstream(proxy):
    assert get(proxy.addr, "http://192.0.2.11/echo").status == 502
    e = _line(proxy, host="192.0.2.11")
    # A connect refused at once (read_head) or once the handshake was under way (connecting).
    assert_log_line(e, reason="connect_refused",
                    ended={"upstream/read_head", "upstream/connecting"})


def test_timeouts_say_timeout_and_where(sluice):
    p = sluice(config={"timeouts": {"upstream_response": "500ms", "dns": "500ms",
                                    "request_head": "500ms"}})
    assert get(p.addr, "http://public.test/sleep/3").status == 504
    assert_log_line(_line(p, host="public.test"), reason="upstream_timeout",
                    ended="timeout/forwarding")
    assert get(p.addr, "http://slow.test/echo").status == 504
    assert_log_line(_line(p, host="slow.test"), reason="dns_timeout",
                    ended="timeout/resolving")
    with RawConn(p.addr) as c:
        c.send(b"GET http://public.test/echo HTTP/1.1\r\n")
        assert c.read_response().status == 408
    assert_log_line(_line(p, reason="head_timeout"), ended="timeout/read_head")


def test_tunnel_open_line_has_no_ended_and_its_end_line_does(sluice):
    p = sluice(config={"timeouts": {"tunnel_idle": "500ms"}})
    with RawConn(p.addr) as c:
        c.send(connect_req("192.0.2.10:443"))
        assert c.read_response("CONNECT").status == 200
        c.send(b"hi")
        assert c.recv_some() == b"hi"
        [o] = p.wait_logs({"method": "CONNECT"}, opens=True)
        assert o["event"] == "open" and "ended" not in o, o
        assert c.is_closed(timeout=3.0)
    e = _line(p, method="CONNECT")
    assert_log_line(e, reason="tunnel_idle", event="end", ended="timeout/tunnel")


def test_tunnel_both_sides_closed_is_done(proxy):
    with RawConn(proxy.addr) as c:
        c.send(connect_req("public.test:443"))
        assert c.read_response("CONNECT").status == 200
        c.send(b"ping")
        got = b""
        while len(got) < 4:
            got += c.recv_some()
    e = _line(proxy, method="CONNECT")
    assert_log_line(e, decision="allow", reason="allowed", ended="done/tunnel")


def test_tunnel_open_at_the_drain_deadline_is_ended_by_shutdown(sluice_bin, dns, tmp_path):
    s = Sluice(sluice_bin, str(tmp_path), config={"timeouts": {"drain": "300ms"}})
    s.start()
    try:
        with RawConn(s.addr) as c:
            c.send(connect_req("192.0.2.10:443"))
            assert c.read_response("CONNECT").status == 200
            s.wait_logs(0, {"method": "CONNECT"}, opens=True)
            assert s.stop() is None, s.describe()
    finally:
        s.kill()
    [e] = s.logs()
    assert_log_line(e, method="CONNECT", reason="shutdown", ended="shutdown/tunnel")
