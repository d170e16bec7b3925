"""Issue 12: a keep-alive request on a pooled upstream connection costs its socket calls and
nothing else. No epoll_ctl: the upstream connection's read interest stays registered while it
moves between the client connection and the pool, and read interest switched off and on again
within a request is never removed. No brk, mmap, munmap or madvise: buffers come from the
worker's cache. Counted with strace attached to every thread of a one-worker sluice."""

import os
import re
import shutil
import subprocess
import time

import pytest

from client import RawConn
from strace_util import Trace

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")

N = 40
REQ = b"GET http://192.0.2.10/bytes/100 HTTP/1.1\r\nHost: 192.0.2.10\r\n\r\n"
TRACED = "epoll_ctl,brk,mmap,munmap,madvise,recvfrom,sendto,sendmsg"
BODY = b"b" * 300
POST = (b"POST http://192.0.2.10/upload HTTP/1.1\r\nHost: 192.0.2.10\r\n"
        b"Content-Length: %d\r\n\r\n" % len(BODY)) + BODY


def exchange(c, n, req=REQ):
    for _ in range(n):
        c.send(req)
        r = c.read_response()
        assert r.status == 200, r
        if req is REQ:
            assert len(r.body) == 100, r
        else:
            assert b'"length": 300' in r.body, r


def traced_exchange(p, path, req):
    """strace over N requests on one warm keep-alive connection."""
    with RawConn(p.addr) as c:
        exchange(c, 3, req)  # the upstream connection is pooled, the worker's cache warm
        with Trace(p.proc.proc.pid, TRACED, path) as t:
            exchange(c, N, req)
    return t


def test_keepalive_requests_change_no_interest_and_allocate_nothing(sluice, tmp_path):
    p = sluice({"workers": 1})
    n = traced_exchange(p, str(tmp_path / "strace.out"), REQ).calls()
    assert n.get("epoll_ctl", 0) == 0, n
    assert sum(n.get(k, 0) for k in ("brk", "mmap", "munmap", "madvise")) == 0, n
    # Both reads and both writes happened on every request, so the trace saw them all.
    assert n.get("recvfrom", 0) >= 2 * N and n.get("sendto", 0) + n.get("sendmsg", 0) >= 2 * N, n


def test_small_body_leaves_with_its_head_in_one_send(sluice, tmp_path):
    """A POST whose head and 300-byte body arrive together goes upstream in one sendmsg: one
    send per request on the upstream connection, where head then body would make two."""
    p = sluice({"workers": 1})
    t = traced_exchange(p, str(tmp_path / "strace.out"), POST)
    sends = {}  # fd -> [send calls]
    for line in t.lines():
        m = re.match(r"\d+\s+(sendto|sendmsg)\((\d+),", line)
        if m:
            sends.setdefault(int(m.group(2)), []).append(line)
    [upstream] = [fd for fd, ls in sends.items() if any("POST /upload" in l for l in ls)]
    assert len(sends[upstream]) == N, sends[upstream][:4]
    assert all(BODY[:16].decode() in l or "sendmsg" in l for l in sends[upstream])


SANITIZED = "ASAN_OPTIONS" in os.environ or os.environ.get("SLUICE_VALGRIND")


@pytest.mark.skipif(SANITIZED or shutil.which("cc") is None,
                    reason="an LD_PRELOAD shim cannot go before ASan or under valgrind")
def test_clock_is_read_once_per_event(sluice, tmp_path, monkeypatch):
    """The stamps a request takes (activity, start, pool age, the log line's duration and
    time) share one clock reading per socket event. On one keep-alive connection a loop turn
    handles one event, and libevent itself reads its clock twice a turn, so a turn costs at
    most three reads; each stamp once read the clock itself (13 reads per keep-alive request
    in three turns)."""
    shim = str(tmp_path / "clock_count.so")
    src = os.path.join(os.path.dirname(__file__), "shims", "clock_count.c")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", shim, src, "-ldl"], check=True)
    counts_path = str(tmp_path / "clock.counts")
    monkeypatch.setenv("LD_PRELOAD", shim)
    monkeypatch.setenv("CLOCK_COUNT_FILE", counts_path)
    p = sluice({"workers": 1, "seccomp": False})
    monkeypatch.delenv("LD_PRELOAD")

    def snapshot():
        """(clock reads, loop turns) so far."""
        with open(counts_path, "rb") as f:
            data = f.read(16 * 8)
        slots = [int.from_bytes(data[i:i + 8], "little") for i in range(0, 16 * 8, 8)]
        return sum(slots[:15]), slots[15]

    n = 200
    with RawConn(p.addr) as c:
        exchange(c, 3)
        time.sleep(0.2)
        reads0, turns0 = snapshot()
        exchange(c, n)
        reads1, turns1 = snapshot()
    reads, turns = reads1 - reads0, turns1 - turns0
    assert turns >= 2 * n, (reads, turns)  # the shim saw the loop
    # Slack for the wall clock's offset, re-taken once a second.
    assert reads <= 3 * turns + n // 20, (reads / n, turns / n)
