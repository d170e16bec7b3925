"""The scaffolding every stub server of the integration tests shares (stdlib only): addresses
on the test namespace's lo, listening sockets, the accept and datagram loops that run in
daemon threads until stop(), a threaded HTTP/1.1 server that counts the connections it
accepts, and the /proc/net/tcp views that tell whether a listener has accepted everything.

What a stub answers, and what it records about it, stays in its own module.
"""

import contextlib
import http.server
import ipaddress
import socket
import socketserver
import subprocess
import threading
import time

# How long a loop blocks before it looks at its stop flag again.
POLL = 0.2


# ---- addresses and sockets ----------------------------------------------------------------

def norm_ip(ip):
    return str(ipaddress.ip_address(ip))


def family_of(ip):
    return socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET


def ensure_lo_addresses(ips):
    """Adds each address (IPv4 /32, IPv6 /128 without DAD) to lo unless it is there already."""
    have = subprocess.run(["ip", "-o", "addr", "show", "dev", "lo"], capture_output=True,
                          text=True, check=True).stdout
    for ip in ips:
        if family_of(ip) == socket.AF_INET6:
            if " %s/128 " % ip not in have:
                subprocess.run(["ip", "-6", "addr", "add", ip + "/128", "dev", "lo", "nodad"],
                               check=True, capture_output=True)
        elif " %s/32 " % ip not in have:
            subprocess.run(["ip", "addr", "add", ip + "/32", "dev", "lo"], check=True,
                           capture_output=True)


def listen_socket(ip, port, backlog=128):
    s = socket.socket(family_of(ip), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family_of(ip) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((ip, port))
    s.listen(backlog)
    return s


def udp_socket(ip, port, reuse=False):
    s = socket.socket(family_of(ip), socket.SOCK_DGRAM)
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    return s


def spawn(target, *args, name=None):
    """Runs target(*args) in a new daemon thread (one per connection, answer, ...)."""
    t = threading.Thread(target=target, args=args, daemon=True, name=name)
    t.start()
    return t


@contextlib.contextmanager
def conversation(conn, timeout):
    """Serves one accepted connection: a socket error ends it quietly, and conn is closed."""
    try:
        conn.settimeout(timeout)
        yield conn
    except OSError:
        pass
    finally:
        conn.close()


# ---- loops in threads ---------------------------------------------------------------------

class StubServer:
    """Owns sockets and the daemon threads looping over them. stop() sets the stop flag, waits
    for the loops (each looks at it every POLL seconds) and closes the sockets."""

    def __init__(self):
        self._stop = threading.Event()
        self._threads = []
        self._socks = []

    def own(self, sock, timeout=POLL):
        """sock is closed by stop(); it gets the timeout its loop needs (None: left as is)."""
        if timeout is not None:
            sock.settimeout(timeout)
        self._socks.append(sock)
        return sock

    def run(self, loop, name):
        self._threads.append(spawn(loop, name=name))

    def serve_stream(self, sock, on_conn, name):
        """Accepts on sock until stop(); on_conn(conn) runs in the accepting thread."""
        def loop():
            while not self._stop.is_set():
                try:
                    conn, _ = sock.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                on_conn(conn)
        self.run(loop, name)

    def serve_datagrams(self, sock, on_datagram, name):
        """Receives on sock until stop(); on_datagram(data, peer) runs in the receiving thread."""
        def loop():
            while not self._stop.is_set():
                try:
                    data, peer = sock.recvfrom(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                on_datagram(data, peer)
        self.run(loop, name)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(2)
        for s in self._socks:
            s.close()


# ---- HTTP/1.1 -----------------------------------------------------------------------------

class StubHandler(http.server.BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, silent, every response framed."""
    protocol_version = "HTTP/1.1"
    sys_version = ""
    default_ctype = "application/json"

    def log_message(self, fmt, *args):  # keep pytest output clean
        pass

    def _send(self, status, body=b"", ctype=None, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype or self.default_ctype)
        for k, v in extra:
            self.send_header(k, v)
        if status not in (204, 304) and not (100 <= status < 200):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

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
                total += self._read_exactly(size, sink, "eof in chunk")
                self.rfile.readline(16)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return 0
        return total + self._read_exactly(int(cl), sink, "eof in body")

    def _read_exactly(self, n, sink, eof_error):
        left = n
        while left:
            data = self.rfile.read(min(left, 1 << 20))
            if not data:
                raise ValueError(eof_error)
            sink(data)
            left -= len(data)
        return n


class StubHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """A threaded HTTP server on (ip, port) that calls on_accept() for every connection it
    accepts, before any byte of it is read."""
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    # Many connections at once (an HTTP/2 client's streams each open one): socketserver's
    # backlog of 5 would drop SYNs and stall them for seconds.
    request_queue_size = 256

    def __init__(self, ip, port, handler, on_accept=None):
        self.address_family = family_of(ip)
        self.on_accept = on_accept
        super().__init__((ip, port), handler, bind_and_activate=False)
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.server_bind()
        self.server_activate()

    def server_bind(self):
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup we do not want.
        socketserver.TCPServer.server_bind(self)
        self.server_name = norm_ip(self.server_address[0])
        self.server_port = self.server_address[1]

    def get_request(self):
        conn, addr = super().get_request()
        if self.on_accept is not None:
            self.on_accept()
        return conn, addr

    def start(self, name):
        spawn(self.serve_forever, POLL, name=name)
        return self


class RecordingStub:
    """An HTTP stub listening on several ports of one address: it counts the connections each
    port accepted and keeps the records its handler passes to record()."""

    def __init__(self, ip, name):
        self.ip = ip
        self.name = name
        self._lock = threading.Lock()
        self._conns = {}
        self._requests = []
        self.servers = []

    def serve(self, port, handler, server_class=StubHTTPServer, **kw):
        s = server_class(self.ip, port, handler, lambda: self.count_conn(port), **kw)
        s.stub = self
        self.servers.append(s.start("%s-%d" % (self.name, port)))

    def stop(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()

    def count_conn(self, port):
        with self._lock:
            self._conns[port] = self._conns.get(port, 0) + 1

    def record(self, rec):
        with self._lock:
            self._requests.append(rec)

    def reset(self):
        with self._lock:
            self._conns = {}
            self._requests = []

    def connections(self, port=None):
        with self._lock:
            if port is None:
                return sum(self._conns.values())
            return self._conns.get(port, 0)

    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    @staticmethod
    def header_values(rec, name):
        return [v for k, v in rec["headers"] if k.lower() == name.lower()]


# ---- /proc/net/tcp: accept-queue lengths, to know every pending connection was counted ------

def _proc_tcp_rows():
    """Yields (fields, is_v6) for every socket row of /proc/self/net/tcp and tcp6."""
    for path, v6 in (("/proc/self/net/tcp", False), ("/proc/self/net/tcp6", True)):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            yield line.split(), v6


def proc_listeners():
    """Yields ((ip, port), accept_queue_len) for every LISTEN socket in this namespace."""
    for parts, v6 in _proc_tcp_rows():
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
    return sum(1 for parts, _ in _proc_tcp_rows()
               if len(parts) > 3 and parts[3] in _OPEN_STATES and
               int(parts[1].split(":")[1], 16) == port)


def listening_on(ip, port):
    key = (norm_ip(ip), port)
    wildcard = ("0.0.0.0" if family_of(ip) == socket.AF_INET else "::", port)
    return any(k in (key, wildcard) for k, _ in proc_listeners())


def wait_accepted(keys, timeout=1.0):
    """Waits until no connection sits unaccepted in the listen queue of any (ip, port) in keys,
    so that every connection that reached those listeners so far is counted."""
    keys = {(norm_ip(ip), port) for ip, port in keys}
    deadline = time.monotonic() + timeout
    time.sleep(0.03)
    while time.monotonic() < deadline:
        if not any(k in keys and q > 0 for k, q in proc_listeners()):
            return
        time.sleep(0.01)
