"""Lifecycle (issue 5, items 1 and 2): SIGTERM drains — stops accepting, lets requests and
tunnels in flight finish up to timeouts.drain, exits 0 — and running out of file descriptors
pauses accepting without hurting the connections sluice has, then recovers by itself."""

import os
import resource
import signal
import socket
import subprocess
import threading
import time

import fake_servers
from checks import assert_log_line
from client import RawConn, connect_req, curl_sha256, get
from sluice_proc import SANITIZER_MARKERS, Sluice

MB20 = 20 * 1024 * 1024


class Proc(Sluice):
    """A sluice this file stops itself (the `sluice` fixture would SIGTERM it again), started
    optionally with a lower RLIMIT_NOFILE."""

    def start(self, timeout=5.0, nofile=None):
        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        out = open(self.stdout_path, "wb")
        err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([self.binary, "-c", self.config_path], stdout=out,
                                     stderr=err, stdin=subprocess.DEVNULL, preexec_fn=limit)
        out.close()
        err.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "sluice exited at start:\n" + self.stderr()
            if fake_servers.listening_on(self.host, self.port):
                return self
            time.sleep(0.02)
        self.kill()
        raise AssertionError("sluice did not start:\n" + self.stderr())

    def term(self):
        self.proc.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout):
        """Waits for the exit; returns (status, seconds waited)."""
        t0 = time.monotonic()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("sluice still running %.1fs later:\n%s"
                                 % (timeout, self.describe()))
        return rc, time.monotonic() - t0

    def assert_clean(self):
        err = self.stderr()
        for m in SANITIZER_MARKERS:
            assert m not in err, self.describe()


def start(sluice_bin, tmp_path, config, nofile=None):
    cfg = {"workers": 2}
    cfg.update(config)
    p = Proc(sluice_bin, str(tmp_path), config=cfg)
    return p.start(nofile=nofile)


def refused_soon(addr, timeout=2.0):
    """True once a new connection to addr is refused (the listening sockets are closed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(addr, timeout=0.5).close()
        except (ConnectionRefusedError, ConnectionResetError):
            # Reset: the handshake raced the listening socket's close.
            return True
        except TimeoutError:
            # The SYN landed while the workers' SO_REUSEPORT group was being torn down and
            # was dropped: not served, not yet refused either; try again.
            pass
        time.sleep(0.02)
    return False


def open_tunnel(p):
    c = RawConn(p.addr)
    c.send(connect_req("192.0.2.10:443"))
    assert c.read_response("CONNECT").status == 200
    echo(c, b"hello")
    return c


def echo(c, data):
    c.send(data)
    got = b""
    while len(got) < len(data):
        chunk = c.recv_some()
        assert chunk, "tunnel closed"
        got += chunk
    assert got == data


def test_sigterm_drains_download_and_tunnel(sluice_bin, harness, dns, tmp_path):
    p = start(sluice_bin, tmp_path, {"timeouts": {"drain": "20s"}})
    try:
        result = {}

        def download():
            result["r"] = curl_sha256(p.url, "http://public.test/bytes/%d" % MB20,
                                      ["--limit-rate", "5M"])
        t = threading.Thread(target=download)
        t.start()
        tunnel = open_tunnel(p)
        time.sleep(0.8)  # the download is under way
        p.term()
        assert refused_soon(p.addr), "new connections still accepted after SIGTERM"
        echo(tunnel, b"still here")
        t.join(30)
        rc, err, digest, n, code = result["r"]
        assert rc == 0 and code == 200, err
        assert n == MB20 and digest == fake_servers.pattern_sha256(MB20)
        # The tunnel outlives the download: sluice waits for it.
        assert p.alive()
        echo(tunnel, b"after the download")
        tunnel.close()
        rc, _ = p.wait_exit(5)
        assert rc == 0, p.describe()
        p.assert_clean()
        err = p.stderr()
        assert "draining 2 connections (deadline 20s)" in err, err
        assert "sluice: drained" in err, err
        [g] = p.wait_logs(match={"method": "GET", "host": "public.test"})
        assert_log_line(g, decision="allow", status=200, bytes_down=MB20)
        [c] = p.wait_logs(match={"method": "CONNECT"})
        assert_log_line(c, decision="allow", status=200)
        assert c["reason"] != "shutdown", c
    finally:
        p.kill()


def test_drain_deadline_closes_stuck_tunnel(sluice_bin, harness, dns, tmp_path):
    p = start(sluice_bin, tmp_path, {"timeouts": {"drain": "1s"}})
    try:
        tunnel = open_tunnel(p)
        p.term()
        rc, waited = p.wait_exit(5)
        assert rc == 0, p.describe()
        assert 0.8 <= waited < 2.5, waited
        assert tunnel.is_closed(timeout=1.0)
        tunnel.close()
        p.assert_clean()
        assert "drain deadline reached, closing 1 connection" in p.stderr(), p.stderr()
        [c] = p.wait_logs(match={"method": "CONNECT"})
        assert_log_line(c, reason="shutdown", status=200)
    finally:
        p.kill()


def test_idle_keepalive_connections_closed_at_once(sluice_bin, harness, dns, tmp_path):
    p = start(sluice_bin, tmp_path, {"timeouts": {"drain": "20s"}})
    try:
        conns = []
        for _ in range(3):
            c = RawConn(p.addr)
            c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n")
            assert c.read_response().status == 200
            conns.append(c)
        p.term()
        for c in conns:
            assert c.is_closed(timeout=1.0), "idle keep-alive connection left open"
            c.close()
        rc, waited = p.wait_exit(2)
        assert rc == 0 and waited < 1.5, p.describe()
        assert "draining 0 connections" in p.stderr(), p.stderr()
        assert "sluice: drained" in p.stderr(), p.stderr()
        p.assert_clean()
    finally:
        p.kill()


def test_response_during_drain_closes_keepalive_connection(sluice_bin, harness, dns, tmp_path):
    """A request in flight is answered, with Connection: close, and the connection ends."""
    p = start(sluice_bin, tmp_path, {"timeouts": {"drain": "20s"}})
    try:
        with RawConn(p.addr) as c:
            c.send(b"GET http://public.test/sleep/1 HTTP/1.1\r\nHost: public.test\r\n\r\n")
            time.sleep(0.3)
            p.term()
            r = c.read_response()
            assert r.status == 200 and r.body == b"slept\n"
            assert (r.header("Connection") or "").lower() == "close", r
            assert c.is_closed(timeout=1.0)
        rc, _ = p.wait_exit(3)
        assert rc == 0, p.describe()
        p.assert_clean()
        [g] = p.wait_logs(match={"method": "GET"})
        assert_log_line(g, decision="allow", status=200, reason="allowed")
    finally:
        p.kill()


def test_second_sigterm_stops_at_once(sluice_bin, harness, dns, tmp_path):
    p = start(sluice_bin, tmp_path, {"timeouts": {"drain": "30s"}})
    try:
        tunnel = open_tunnel(p)
        p.term()
        time.sleep(0.3)
        assert p.alive(), "sluice did not wait for the tunnel"
        echo(tunnel, b"draining")
        p.term()
        rc, waited = p.wait_exit(3)
        assert rc == 0 and waited < 1.0, p.describe()
        assert tunnel.is_closed(timeout=1.0)
        tunnel.close()
        p.assert_clean()
        [c] = p.wait_logs(match={"method": "CONNECT"})
        assert_log_line(c, reason="shutdown")
    finally:
        p.kill()


def test_drain_zero_stops_at_once(sluice_bin, harness, dns, tmp_path):
    p = start(sluice_bin, tmp_path, {"timeouts": {"drain": "0"}})
    try:
        tunnel = open_tunnel(p)
        p.term()
        rc, waited = p.wait_exit(3)
        assert rc == 0 and waited < 1.0, p.describe()
        assert "draining" not in p.stderr()
        tunnel.close()
        p.assert_clean()
    finally:
        p.kill()


def test_fd_exhaustion_pauses_accepting_and_recovers(sluice_bin, harness, dns, tmp_path):
    """Out of descriptors, sluice keeps serving what it has and accepts again by itself once
    descriptors are free; the 'pausing accepts' message is rate-limited."""
    p = start(sluice_bin, tmp_path, {"workers": 1,
                                     "timeouts": {"request_head": "60s", "client_idle": "60s",
                                                  "drain": "1s"}}, nofile=64)
    idle = []
    try:
        tunnel = open_tunnel(p)
        # A keep-alive connection whose upstream connection is pooled: served without a new
        # descriptor.
        ka = RawConn(p.addr)
        ka.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n")
        assert ka.read_response().status == 200
        for _ in range(100):
            idle.append(socket.create_connection(p.addr, timeout=2))
        deadline = time.monotonic() + 3
        while "pausing accepts" not in p.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "pausing accepts" in p.stderr(), p.describe()
        time.sleep(1.5)  # ~15 pauses of 100 ms
        assert p.stderr().count("pausing accepts") <= 3, p.stderr()
        # What sluice has keeps working.
        echo(tunnel, b"out of fds")
        ka.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n")
        assert ka.read_response().status == 200
        # A new client waits in the backlog ...
        late = RawConn(p.addr, timeout=10)
        late.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n")
        # ... and is served once descriptors are free again, with nobody restarting anything.
        for s in idle:
            s.close()
        idle = []
        assert late.read_response().status == 200
        late.close()
        assert get(p.addr, "http://public.test/echo").status == 200
        echo(tunnel, b"recovered")
        tunnel.close()
        ka.close()
        assert p.alive(), p.describe()
        p.term()
        rc, _ = p.wait_exit(5)
        assert rc == 0, p.describe()
        p.assert_clean()
    finally:
        for s in idle:
            s.close()
        p.kill()
