"""Connection limits (issue 5, item 1): per agent and in total, each refused with RFC 9209
connection_limit_reached; a freed slot is usable again."""

import time

from checks import assert_refused
from client import RawConn, parse_proxy_status

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
