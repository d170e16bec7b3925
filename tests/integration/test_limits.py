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
