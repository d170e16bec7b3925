"""Fake upstreams for the integration tests (stdlib only), all bound to addresses on the test
namespace's lo:

- "public" HTTP/1.1 origins (keep-alive) on the documentation addresses that the test config
  re-allows, with routes to echo requests, hash uploads, stream bytes and misbehave on purpose;
- a raw TCP echo server (port 443) for CONNECT tunnels, with half-close;
- "internal" canary services that count every TCP connection they accept and answer a minimal
  HTTP 200 "INTERNAL-SECRET": a blocked case passes only if their count stayed 0;
- a "black hole" listener whose accept queue is full, so connecting to it times out.

Every listener counts accepted connections in one ConnCounter keyed by (ip, port).
"""

import hashlib
import json
import os
import re
import selectors
import socket
import threading
import time

import stub_server
from stub_server import (StubHandler, StubHTTPServer, StubServer, conversation, listen_socket,
                         norm_ip, spawn)

# The tests, conftest.py and sluice_proc.py find these here.
family_of = stub_server.family_of
listening_on = stub_server.listening_on
open_connections_on_port = stub_server.open_connections_on_port
proc_listeners = stub_server.proc_listeners

PATTERN_SIZE = 64 * 1024
# Deterministic, period 64 KiB (not 256), so a shifted or repeated block changes the hash.
PATTERN = bytes(((i * 7) + (i >> 8)) & 0xFF for i in range(PATTERN_SIZE))

CANARY_BODY = b"INTERNAL-SECRET"
CANARY_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                   b"Connection: close\r\n\r\n%s" % (len(CANARY_BODY), CANARY_BODY))


def pattern_chunks(n):
    """Yields the first n bytes of the repeating pattern, one period (64 KiB) at a time."""
    sent = 0
    while sent < n:
        take = min(n - sent, PATTERN_SIZE)
        yield PATTERN if take == PATTERN_SIZE else PATTERN[:take]
        sent += take


_sha_cache = {}


def pattern_sha256(n):
    if n not in _sha_cache:
        h = hashlib.sha256()
        for c in pattern_chunks(n):
            h.update(c)
        _sha_cache[n] = h.hexdigest()
    return _sha_cache[n]


class ConnCounter:
    """Connections accepted per (ip, port)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {}
        self.keys = set()
        self.canary_keys = set()

    def register(self, ip, port, canary=False):
        key = (norm_ip(ip), port)
        with self._lock:
            self.keys.add(key)
            self._counts.setdefault(key, 0)
            if canary:
                self.canary_keys.add(key)

    def inc(self, ip, port):
        key = (norm_ip(ip), port)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def get(self, ip, port):
        with self._lock:
            return self._counts.get((norm_ip(ip), port), 0)

    def snapshot(self):
        with self._lock:
            return dict(self._counts)


# ---- canaries -----------------------------------------------------------------------------

class CanaryHub(StubServer):
    """One selector thread accepting on every counted "internal" listener; a connection is
    counted when accepted, then answered from a short-lived thread."""

    def __init__(self, counter):
        super().__init__()
        self.counter = counter
        self.sel = selectors.DefaultSelector()
        self.listeners = []
        self._rpipe, self._wpipe = os.pipe()
        os.set_blocking(self._rpipe, False)
        self.sel.register(self._rpipe, selectors.EVENT_READ, None)
        self._waiters = []
        self._lock = threading.Lock()

    def add(self, ip, port, canary=True):
        s = self.own(listen_socket(ip, port), timeout=None)
        s.setblocking(False)
        self.counter.register(ip, port, canary=canary)
        self.listeners.append((s, norm_ip(ip), port))
        self.sel.register(s, selectors.EVENT_READ, (s, norm_ip(ip), port))

    def start(self):
        self.run(self._loop, "canaries")
        return self

    def stop(self):
        self._stop.set()
        os.write(self._wpipe, b"x")
        super().stop()

    def _accept_all(self, s, ip, port):
        while True:
            try:
                conn, _ = s.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self.counter.inc(ip, port)
            spawn(_answer_canary, conn)

    def _loop(self):
        while not self._stop.is_set():
            for key, _ in self.sel.select(1.0):
                if key.data is None:
                    try:
                        os.read(self._rpipe, 4096)
                    except BlockingIOError:
                        pass
                    # A settle request: drain every accept queue before answering.
                    for s, ip, port in self.listeners:
                        self._accept_all(s, ip, port)
                    with self._lock:
                        waiters, self._waiters = self._waiters, []
                    for ev in waiters:
                        ev.set()
                else:
                    self._accept_all(*key.data)

    def drain(self, timeout=2.0):
        ev = threading.Event()
        with self._lock:
            self._waiters.append(ev)
        os.write(self._wpipe, b"s")
        ev.wait(timeout)


def _answer_canary(conn):
    with conversation(conn, 0.5):
        try:
            conn.recv(65536)
        except OSError:
            pass
        conn.sendall(CANARY_RESPONSE)
        conn.shutdown(socket.SHUT_WR)


# ---- public HTTP origins ------------------------------------------------------------------

class OriginHandler(StubHandler):
    server_version = "fake-origin/1"
    # Large enough for the hash endpoints, small enough to stay fast.
    rbufsize = 256 * 1024

    def _json(self, obj, status=200):
        self._send(status, json.dumps(obj).encode())

    # -- routes

    def _route(self):
        self.server.requests.append((self.command, self.path, list(self.headers.items())))
        path = self.path
        m = re.fullmatch(r"/(bytes|chunked|eof)/(\d+)", path)
        if path.startswith("/echo"):
            h = hashlib.sha256()
            n = self._read_body(h.update)
            local = self.connection.getsockname()
            self._json({
                "method": self.command,
                "path": path,
                "version": self.request_version,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body_sha256": h.hexdigest(),
                "body_length": n,
                "server": "%s:%d" % (local[0], local[1]),
            })
        elif path.startswith("/reflect"):
            # the request's Authorization back in a response field, as some APIs echo it
            self._read_body(lambda b: None)
            self._send(200, b"reflected", "text/plain",
                       [("X-Seen-Authorization", self.headers.get("Authorization", ""))])
        elif path.startswith("/upload"):
            h = hashlib.sha256()
            n = self._read_body(h.update)
            self._json({"sha256": h.hexdigest(), "length": n})
        elif m:
            self._read_body(lambda d: None)
            self._stream(m.group(1), int(m.group(2)))
        elif re.fullmatch(r"/status/\d+", path):
            self._read_body(lambda d: None)
            status = int(path.rsplit("/", 1)[1])
            self._send(status, b"status %d\n" % status, "text/plain")
        elif re.fullmatch(r"/sleep/[\d.]+", path):
            self._read_body(lambda d: None)
            time.sleep(float(path.rsplit("/", 1)[1]))
            self._send(200, b"slept\n", "text/plain")
        elif path == "/hop":
            # Hop-by-hop response fields a proxy must not pass on (RFC 9110 §7.6.1).
            self._send(200, b"hop\n", "text/plain", extra=(
                ("Connection", "X-Resp-Hop"), ("X-Resp-Hop", "secret"),
                ("Keep-Alive", "timeout=5"), ("X-End", "1")))
        elif path == "/close":
            self.close_connection = True  # no response at all
        elif path == "/garbage":
            self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
            self.close_connection = True
        else:
            self._send(404, b"not found\n", "text/plain")

    def _stream(self, kind, n):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if kind == "bytes":
            self.send_header("Content-Length", str(n))
        elif kind == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        for c in pattern_chunks(n):
            if kind == "chunked":
                self.wfile.write(b"%x\r\n" % len(c) + c + b"\r\n")
            else:
                self.wfile.write(c)
        if kind == "chunked":
            self.wfile.write(b"0\r\n\r\n")

    def _handle(self):
        try:
            self._route()
        except (ValueError, ConnectionError, BrokenPipeError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_OPTIONS = do_PATCH = _handle


class OriginServer(StubHTTPServer):
    def __init__(self, ip, port, counter):
        self.ip = norm_ip(ip)
        self.requests = []
        counter.register(ip, port)
        super().__init__(ip, port, OriginHandler, lambda: counter.inc(self.ip, port))

    def start(self):
        return super().start("origin-%s-%d" % self.server_address[:2])


# ---- TCP echo (CONNECT target) ------------------------------------------------------------

class EchoServer(StubServer):
    def __init__(self, ip, port, counter):
        super().__init__()
        self.ip, self.port, self.counter = norm_ip(ip), port, counter
        counter.register(ip, port)
        self.sock = self.own(listen_socket(ip, port))

    def start(self):
        self.serve_stream(self.sock, self._accepted, "echo")
        return self

    def _accepted(self, conn):
        self.counter.inc(self.ip, self.port)
        spawn(self._echo, conn)

    @staticmethod
    def _echo(conn):
        with conversation(conn, 60):
            while True:
                data = conn.recv(256 * 1024)
                if not data:
                    break
                conn.sendall(data)
            # The client half-closed: everything was echoed; close our side too.
            conn.shutdown(socket.SHUT_WR)


# ---- black hole: a listener whose accept queue is full ------------------------------------

class BlackHole:
    """listen(0) and never accept; once one connection sits in the accept queue, Linux drops
    further SYNs, so a connect() to it times out."""

    def __init__(self, ip, port):
        self.ip, self.port = ip, port
        self.sock = listen_socket(ip, port, backlog=0)
        self.fillers = []

    def fill(self, attempts=8):
        """Fills the accept queue. Returns True once a probe connect no longer completes."""
        for _ in range(attempts):
            s = socket.socket(family_of(self.ip), socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((self.ip, self.port))
            except BlockingIOError:
                pass
            sel = selectors.DefaultSelector()
            sel.register(s, selectors.EVENT_WRITE)
            ready = sel.select(0.3)
            sel.close()
            if not ready:
                s.close()
                return True
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                s.close()
                return False
            self.fillers.append(s)
        return False

    def stop(self):
        for s in self.fillers:
            s.close()
        self.sock.close()
