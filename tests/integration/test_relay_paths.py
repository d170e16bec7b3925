"""Correctness risks of the speed work (issue 3): both tunnel relay paths (splice through
pooled pipes, and copies through user space) deliver every byte and half-close; pipes are
reused, not leaked; a pooled upstream connection is never reused for a request the current
policy denies."""

import hashlib
import os
import socket

import pytest

import fake_servers
from agents_util import config_text, reload
from client import RawConn, connect_req, get, tunnel_roundtrip


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def tunnel_echo(addr, data):
    """CONNECT to the echo server, send data, half-close, return what came back."""
    with RawConn(addr) as c:
        c.send(connect_req("public.test:443"))
        assert c.read_response("CONNECT").status == 200
        return tunnel_roundtrip(c, data)


@pytest.mark.parametrize("mode", ["always", "never", "auto"])
def test_tunnel_relay_path_delivers_every_byte_and_half_closes(sluice, monkeypatch, mode):
    monkeypatch.setenv("SLUICE_TUNNEL_SPLICE", mode)
    p = sluice(config={"workers": 1})
    data = os.urandom(4 * 1024 * 1024)
    got = tunnel_echo(p.addr, data)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    # Small exchanges too (the auto mode stays on copies for them).
    assert tunnel_echo(p.addr, b"ping") == b"ping"


def test_pipes_are_reused_across_tunnels_not_leaked(sluice, monkeypatch):
    monkeypatch.setenv("SLUICE_TUNNEL_SPLICE", "always")
    p = sluice(config={"workers": 1})
    pid = p.proc.proc.pid
    data = os.urandom(256 * 1024)
    assert tunnel_echo(p.addr, data) == data
    baseline = open_fds(pid)
    for _ in range(30):
        assert tunnel_echo(p.addr, data) == data
    # Thirty tunnels, one after another: the same few pipes serve them all.
    assert open_fds(pid) <= baseline + 4, (baseline, open_fds(pid))


def test_pooled_upstream_is_not_reused_after_reload_denies_it(sluice, origins):
    p = sluice(config={"workers": 1})
    assert get(p.addr, "http://public.test/echo").status == 200  # leaves a pooled connection
    before = origins.hits("192.0.2.10")
    reload(p, config_text(p, overrides={"ips": {"allow": ["192.0.2.0/24", "198.51.100.0/24",
                                                           "2001:db8::/32"],
                                                 "deny": ["192.0.2.10/32"]}}))
    r = get(p.addr, "http://public.test/echo")
    assert r.status == 403
    assert origins.hits("192.0.2.10") == before


def test_client_half_close_after_request_still_gets_the_response(proxy):
    """Reading from the client stays on while a request runs (fewer epoll changes); a client
    that shuts down its sending side after the request must still get the whole answer."""
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test/bytes/70000 HTTP/1.1\r\nHost: public.test\r\n\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response()
        assert r.status == 200
        assert hashlib.sha256(r.body).hexdigest() == fake_servers.pattern_sha256(70000)
