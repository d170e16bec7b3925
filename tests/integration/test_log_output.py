"""The decision log's consumer is a fault too: a log collector that stops reading sluice's
stdout must cost dropped log lines (counted in sluice_log_lines_dropped_total), never a stalled
proxy; when it reads again, logging resumes. sluice makes its own stdout non-blocking without
changing the pipe end its parent shares."""

import fcntl
import json
import os
import pty
import socket
import subprocess
import threading
import time
import tty

import pytest

from client import RawConn
from sluice_proc import TIME_FACTOR, Sluice, free_port
from test_admin import admin_get

# Denied requests need no DNS and no origin, and a long host name makes each log line ~0.5 KB:
# sluice holds at most 4 MiB of pending log output per worker, so ~9,000 of them overflow it.
LONG_HOST = ".".join(["x" * 60] * 4) + ".test"
BATCH = 250
BATCHES = 48


def denied_batch(i):
    return b"".join(b"GET http://%d.%s/ HTTP/1.1\r\nHost: %d.%s\r\n\r\n"
                    % (i, LONG_HOST.encode(), i, LONG_HOST.encode()) for _ in range(BATCH))


def output_pair(kind):
    """(our reading end, sluice's stdout): a pipe, a terminal, or a stream socket as journald
    gives."""
    if kind == "pipe":
        return os.pipe()
    if kind == "tty":
        controller, terminal = pty.openpty()
        tty.setraw(terminal)  # no newline translation: the reader sees the bytes written
        return controller, terminal
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return ours.detach(), theirs.detach()


def start_on_pipe(sluice_bin, tmp_path, kind="pipe"):
    admin_port = free_port()
    p = Sluice(sluice_bin, str(tmp_path), config={
        "workers": 1, "allow": ["public.test"],
        "listen": {"admin": "127.0.0.1:%d" % admin_port}})
    p.admin = ("127.0.0.1", admin_port)
    rfd, wfd = output_pair(kind)
    err = open(p.stderr_path, "wb")
    p.proc = subprocess.Popen([p.binary, "-c", p.config_path], stdout=wfd, stderr=err,
                              stdin=subprocess.DEVNULL)
    err.close()
    deadline = time.monotonic() + 10
    while "running" not in p.stderr():
        assert p.alive() and time.monotonic() < deadline, p.stderr()
        time.sleep(0.05)
    return p, rfd, wfd


def metric(p, name):
    for line in admin_get(p, "/metrics").text().splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


@pytest.mark.parametrize("kind", ["pipe", "tty", "socket"])
def test_stalled_log_reader_does_not_stall_the_proxy(sluice_bin, tmp_path, kind):
    p, rfd, wfd = start_on_pipe(sluice_bin, tmp_path, kind)
    drained = []
    try:
        if kind != "socket":
            # The pipe or terminal end we share with sluice is still blocking: sluice reopened its own.
            # (A socket cannot be reopened; sluice sets its description non-blocking, which is
            # harmless where sockets come from: journald gives each service its own.)
            assert not fcntl.fcntl(wfd, fcntl.F_GETFL) & os.O_NONBLOCK
        t0 = time.monotonic()
        with RawConn(p.addr, timeout=10) as c:
            for i in range(BATCHES):
                c.send(denied_batch(i))
                for _ in range(BATCH):
                    assert c.read_response().status == 403
        took = time.monotonic() - t0
        # Nobody read the pipe: with a blocking stdout the worker would hang on its first
        # full pipe and the reads above would time out.
        dropped = metric(p, "sluice_log_lines_dropped_total")
        assert dropped > 0, "no line dropped: the test did not overflow the log buffer"
        assert dropped < BATCH * BATCHES
        assert took < 60 * TIME_FACTOR, "12,000 denials took %.1fs" % took

        # The reader comes back: what was pending flows out, and new lines are logged again.
        def drain():
            while True:
                try:
                    chunk = os.read(rfd, 1 << 16)
                except OSError:
                    return
                if not chunk:
                    return
                drained.append(chunk)
        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        # First the backlog flows out: every line not dropped arrives. (A request logged while
        # the backlog is still full would be dropped, and rightly so.)
        deadline = time.monotonic() + 10 * TIME_FACTOR
        while b"".join(drained).count(b"\n") < BATCH * BATCHES - dropped:
            assert time.monotonic() < deadline, "the backlog did not flow out"
            time.sleep(0.05)
        assert metric(p, "sluice_log_lines_dropped_total") == dropped
        with RawConn(p.addr) as c:
            c.send(b"GET http://after.test/ HTTP/1.1\r\nHost: after.test\r\n\r\n")
            assert c.read_response().status == 403
        deadline = time.monotonic() + 10
        while b'"host":"after.test"' not in b"".join(drained):
            assert time.monotonic() < deadline, "logging did not resume"
            time.sleep(0.05)
        lines = b"".join(drained).split(b"\n")
        whole = [json.loads(x) for x in lines if x]
        # Every line that was written is whole JSON, and the written plus the dropped ones
        # account for every request.
        assert len(whole) + dropped == BATCH * BATCHES + 1
    finally:
        os.close(wfd)
        problem = p.stop()
        os.close(rfd)
    assert problem is None, problem


def test_stop_with_a_stuck_log_reader_is_prompt(sluice_bin, tmp_path):
    """At SIGTERM the pending log goes out while the reader takes it; a reader that takes
    nothing costs the rest of the log, not a hung stop."""
    p, rfd, wfd = start_on_pipe(sluice_bin, tmp_path)
    try:
        with RawConn(p.addr, timeout=10) as c:
            for i in range(8):  # 2,000 lines: more than the pipe holds, far below 4 MiB
                c.send(denied_batch(i))
                for _ in range(BATCH):
                    assert c.read_response().status == 403
        t0 = time.monotonic()
        problem = p.stop()
        took = time.monotonic() - t0
    finally:
        os.close(wfd)
        os.close(rfd)
    assert problem is None, problem
    assert took < 2.0 * TIME_FACTOR, "stop took %.1fs with a stuck log reader" % took
