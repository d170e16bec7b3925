"""Idle limits: keep-alive client connections and tunnels are closed when idle, not before."""

import time

from checks import assert_log_line
from client import RawConn, connect_req, get


def test_idle_keepalive_client_connection_is_closed(sluice):
    p = sluice(config={"timeouts": {"client_idle": "500ms"}})
    with RawConn(p.addr) as c:
        c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n")
        assert c.read_response().status == 200
        t0 = time.monotonic()
        assert c.is_closed(timeout=3.0), "idle client connection not closed"
        assert 0.3 <= time.monotonic() - t0 < 2.5


def test_active_keepalive_connection_outlives_idle_timeout(sluice):
    p = sluice(config={"timeouts": {"client_idle": "500ms"}})
    with RawConn(p.addr) as c:
        for _ in range(6):
            c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n")
            assert c.read_response().status == 200
            time.sleep(0.2)


def test_idle_tunnel_is_closed_and_logged(sluice):
    p = sluice(config={"timeouts": {"tunnel_idle": "500ms"}})
    with RawConn(p.addr) as c:
        c.send(connect_req("192.0.2.10:443"))
        assert c.read_response("CONNECT").status == 200
        c.send(b"hi")
        assert c.recv_some() == b"hi"
        t0 = time.monotonic()
        assert c.is_closed(timeout=3.0), "idle tunnel not closed"
        assert 0.3 <= time.monotonic() - t0 < 2.5
    [e] = p.wait_logs({"method": "CONNECT"})
    assert_log_line(e, reason="tunnel_idle", status=200)
    assert 2 <= e["bytes_up"] < 200 and 2 <= e["bytes_down"] < 200, e


def test_busy_tunnel_outlives_idle_timeout(sluice):
    p = sluice(config={"timeouts": {"tunnel_idle": "500ms"}})
    with RawConn(p.addr) as c:
        c.send(connect_req("192.0.2.10:443"))
        assert c.read_response("CONNECT").status == 200
        for i in range(6):
            c.send(b"%d" % i)
            assert c.recv_some() == b"%d" % i
            time.sleep(0.2)


def test_slow_origin_within_upstream_timeout_is_served(sluice):
    p = sluice(config={"timeouts": {"upstream_response": "2s"}})
    r = get(p.addr, "http://public.test/sleep/0.5")
    assert r.status == 200 and r.body == b"slept\n"
