"""Issue 12: a CONNECT tunnel, from accept to close, makes the calls its exchange needs and no
more. Neither side is read when the tunnel opens (the client waits for the 200; a server that
speaks first is announced by its read event) and a short read is taken as the whole of what the
socket had, so no read of the tunnel hears EAGAIN; TCP_NODELAY comes with the accepted socket
from the listener, so the only setsockopt is the upstream socket's; the side that finishes
last is closed, not half-closed first. Counted with strace on a one-worker sluice."""

import shutil
import socket

import pytest

from client import RawConn, connect_req
from strace_util import Trace

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")

N = 20
TRACED = "recvfrom,setsockopt,shutdown,sendto,sendmsg,connect"


def echo_tunnel(addr):
    with RawConn(addr) as c:
        c.send(connect_req("192.0.2.10:443"))
        assert c.read_response("CONNECT").status == 200
        c.sock.sendall(b"ping")
        got = b""
        while len(got) < 4:
            chunk = c.sock.recv(64)
            assert chunk, got
            got += chunk
        assert got == b"ping"
        c.sock.shutdown(socket.SHUT_WR)  # the echo server closes after it
        assert c.sock.recv(64) == b""


def test_tunnel_makes_no_wasted_calls(sluice, tmp_path):
    p = sluice({"workers": 1})
    echo_tunnel(p.addr)  # warm
    with Trace(p.proc.proc.pid, TRACED, str(tmp_path / "strace.out")) as t:
        for _ in range(N):
            echo_tunnel(p.addr)
    n = t.calls()
    assert n.get("connect", 0) == N, n
    assert t.calls("EAGAIN").get("recvfrom", 0) == 0, [l for l in t.lines() if "EAGAIN" in l][:6]
    assert n.get("setsockopt", 0) == N, n
    assert n.get("shutdown", 0) == N, n
    # The CONNECT head, "ping" each way, and the two ends of stream.
    assert n.get("recvfrom", 0) == 5 * N, n
