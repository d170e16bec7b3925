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
import http.server
import ipaddress
import json
import os
import re
import selectors
import socket
import socketserver
import threading
import time

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


def norm_ip(ip):
    return str(ipaddress.ip_address(ip))


def family_of(ip):
    return socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET


def listen_socket(ip, port, backlog=128):
    s = socket.socket(family_of(ip), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family_of(ip) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((ip, port))
    s.listen(backlog)
    return s


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


# ---- /proc/net/tcp: accept-queue lengths, to know every pending connection was counted ------

def proc_listeners():
    """Yields ((ip, port), accept_queue_len) for every LISTEN socket in this namespace."""
    for path, v6 in (("/proc/self/net/tcp", False), ("/proc/self/net/tcp6", True)):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 5 or parts[3] != "0A":
                continue
            addr_hex, port_hex = parts[1].split(":")
            raw = bytes.fromhex(addr_hex)
            if v6:
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
            else:
                raw = raw[::-1]
            ip = str(ipaddress.ip_address(raw))
            rxq = int(parts[4].split(":")[1], 16)
            yield (ip, int(port_hex, 16)), rxq


# TCP states in /proc/net/tcp whose socket sluice has not closed yet.
_OPEN_STATES = {"01", "03", "08"}  # ESTABLISHED, SYN_RECV, CLOSE_WAIT


def open_connections_on_port(port):
    """Sockets whose local port is `port` (a sluice listener) that sluice has not closed."""
    n = 0
    for path in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 3 and parts[3] in _OPEN_STATES and \
                    int(parts[1].split(":")[1], 16) == port:
                n += 1
    return n


def listening_on(ip, port):
    key = (norm_ip(ip), port)
    wildcard = ("0.0.0.0" if family_of(ip) == socket.AF_INET else "::", port)
    return any(k in (key, wildcard) for k, _ in proc_listeners())


# ---- canaries -----------------------------------------------------------------------------

class CanaryHub:
    """One selector thread accepting on every counted "internal" listener; a connection is
    counted when accepted, then answered from a short-lived thread."""

    def __init__(self, counter):
        self.counter = counter
        self.sel = selectors.DefaultSelector()
        self.listeners = []
        self._rpipe, self._wpipe = os.pipe()
        os.set_blocking(self._rpipe, False)
        self.sel.register(self._rpipe, selectors.EVENT_READ, None)
        self._waiters = []
        self._lock = threading.Lock()
        self._stop = False
        self._thread = None

    def add(self, ip, port, canary=True):
        s = listen_socket(ip, port)
        s.setblocking(False)
        self.counter.register(ip, port, canary=canary)
        self.listeners.append((s, norm_ip(ip), port))
        self.sel.register(s, selectors.EVENT_READ, (s, norm_ip(ip), port))

    def start(self):
        self._thread = threading.Thread(target=self._loop, daemon=True, name="canaries")
        self._thread.start()
        return self

    def stop(self):
        self._stop = True
        os.write(self._wpipe, b"x")
        self._thread.join(2)
        for s, _, _ in self.listeners:
            s.close()

    def _accept_all(self, s, ip, port):
        while True:
            try:
                conn, _ = s.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self.counter.inc(ip, port)
            threading.Thread(target=_answer_canary, args=(conn,), daemon=True).start()

    def _loop(self):
        while not self._stop:
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
    try:
        conn.settimeout(0.5)
        try:
            conn.recv(65536)
        except OSError:
            pass
        conn.sendall(CANARY_RESPONSE)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        conn.close()


# ---- public HTTP origins ------------------------------------------------------------------

class OriginHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-origin/1"
    sys_version = ""
    # Large enough for the hash endpoints, small enough to stay fast.
    rbufsize = 256 * 1024

    def log_message(self, fmt, *args):  # keep pytest output clean
        pass

    # -- body reading

    def _read_body(self, sink):
        """Reads the request body (Content-Length or chunked) feeding sink(bytes).
        Returns the number of bytes read."""
        te = self.headers.get("Transfer-Encoding")
        total = 0
        if te is not None:
            if te.strip().lower() != "chunked":
                raise ValueError("unsupported transfer-encoding %r" % te)
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return total
                left = size
                while left:
                    data = self.rfile.read(min(left, 1 << 20))
                    if not data:
                        raise ValueError("eof in chunk")
                    sink(data)
                    left -= len(data)
                    total += len(data)
                self.rfile.readline(16)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return 0
        left = int(cl)
        while left:
            data = self.rfile.read(min(left, 1 << 20))
            if not data:
                raise ValueError("eof in body")
            sink(data)
            left -= len(data)
            total += len(data)
        return total

    def _send(self, status, body=b"", ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        if status not in (204, 304) and not (100 <= status < 200):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

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


class OriginServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, ip, port, counter):
        self.address_family = family_of(ip)
        self.counter = counter
        self.ip = norm_ip(ip)
        self.port_no = port
        self.requests = []
        counter.register(ip, port)
        super().__init__((ip, port), OriginHandler, bind_and_activate=False)
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.server_bind()
        self.server_activate()

    def server_bind(self):
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup we do not want.
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.ip
        self.server_port = self.port_no

    def get_request(self):
        conn, addr = super().get_request()
        self.counter.inc(self.ip, self.port_no)
        return conn, addr

    def start(self):
        t = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                             daemon=True, name="origin-%s-%d" % (self.ip, self.port_no))
        t.start()
        return self


# ---- TCP echo (CONNECT target) ------------------------------------------------------------

class EchoServer:
    def __init__(self, ip, port, counter):
        self.ip, self.port, self.counter = norm_ip(ip), port, counter
        counter.register(ip, port)
        self.sock = listen_socket(ip, port)
        self.sock.settimeout(0.2)
        self._stop = False

    def start(self):
        threading.Thread(target=self._loop, daemon=True, name="echo").start()
        return self

    def stop(self):
        self._stop = True
        self.sock.close()

    def _loop(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.counter.inc(self.ip, self.port)
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn):
        conn.settimeout(60)
        try:
            while True:
                data = conn.recv(256 * 1024)
                if not data:
                    break
                conn.sendall(data)
            # The client half-closed: everything was echoed; close our side too.
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            conn.close()


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
