"""Issue 12: a keep-alive request on a pooled upstream connection costs its socket calls and
nothing else. No epoll_ctl: the upstream connection's read interest stays registered while it
moves between the client connection and the pool, and read interest switched off and on again
within a request is never removed. No brk, mmap, munmap or madvise: buffers come from the
worker's cache. Counted with strace attached to every thread of a one-worker sluice."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from client import RawConn

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")

N = 40
REQ = b"GET http://192.0.2.10/bytes/100 HTTP/1.1\r\nHost: 192.0.2.10\r\n\r\n"
TRACED = "epoll_ctl,brk,mmap,munmap,madvise,recvfrom,sendto,sendmsg"


def all_threads_traced(pid):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            if not any(l.startswith("TracerPid:") and l.split()[1] != "0" for l in f):
                return False
    return True


def exchange(c, n):
    for _ in range(n):
        c.send(REQ)
        r = c.read_response()
        assert r.status == 200 and len(r.body) == 100, r


def calls(path):
    """System call name -> count, from strace -o output."""
    counts = {}
    with open(path) as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) == 2 and "(" in parts[1]:
                name = parts[1].split("(", 1)[0]
                counts[name] = counts.get(name, 0) + 1
    return counts


def test_keepalive_requests_change_no_interest_and_allocate_nothing(sluice, tmp_path):
    p = sluice({"workers": 1})
    out = str(tmp_path / "strace.out")
    with RawConn(p.addr) as c:
        exchange(c, 3)  # the upstream connection is pooled, the worker's cache warm
        tracer = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=" + TRACED, "-o", out,
                                   "-p", str(p.proc.proc.pid)], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 5
            while not all_threads_traced(p.proc.proc.pid):
                assert time.monotonic() < deadline, "strace did not attach"
                time.sleep(0.05)
            exchange(c, N)
            time.sleep(0.1)  # the last log batch
        finally:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(5)
    n = calls(out)
    assert n.get("epoll_ctl", 0) == 0, n
    assert sum(n.get(k, 0) for k in ("brk", "mmap", "munmap", "madvise")) == 0, n
    # Both reads and both writes happened on every request, so the trace saw them all.
    assert n.get("recvfrom", 0) >= 2 * N and n.get("sendto", 0) + n.get("sendmsg", 0) >= 2 * N, n
