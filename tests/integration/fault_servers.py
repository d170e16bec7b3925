"""Misbehaving upstreams and DNS servers for the fault tests (stdlib only), bound to addresses
this module adds to the test namespace's lo:

- FaultServer: a raw TCP listener that reads one request head and then misbehaves on purpose
  (resets mid-response, stalls after the head, closes before any header, answers garbage, or
  swallows an upload without answering), recording what it saw of each connection;
- FaultDNS: a dns_server.DNSServer on port 53 with TCP optional, so truncated (TC) answers
  can be retried over TCP or find TCP refused.
"""

import socket
import struct
import threading
import time

import dns_server
from stub_server import StubServer, ensure_lo_addresses, listen_socket, spawn

# Addresses this module adds to lo (the test config allows 192.0.2.0/24 and 2001:db8::/32).
FAULT_V4 = ["192.0.2.%d" % i for i in range(20, 34)]
FAULT_V6 = ["2001:db8::20", "2001:db8::29"]


def add_addresses():
    ensure_lo_addresses(FAULT_V4 + FAULT_V6)


def reset(conn):
    """Closes with RST instead of FIN (SO_LINGER on, timeout 0)."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    conn.close()


def wait_peer_close(conn, rec, timeout=15.0):
    """Reads (and discards) until the peer closes; records how and when."""
    conn.settimeout(timeout)
    try:
        while True:
            d = conn.recv(65536)
            if not d:
                rec["end"] = "eof"
                break
            rec["body_bytes"] += len(d)
    except ConnectionResetError:
        rec["end"] = "rst"
    except socket.timeout:
        rec["end"] = "timeout"
    except OSError as e:
        rec["end"] = "error %s" % e
    rec["end_at"] = time.monotonic()


# ---- behaviours: fn(conn, rec) after the request head was read --------------------------

RST_BODY_LEN = 100000
PARTIAL = b"x" * 4096


def rst_mid_body(conn, rec):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % RST_BODY_LEN + PARTIAL)
    time.sleep(0.05)
    reset(conn)


def rst_mid_chunked(conn, rec):
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"%x\r\n%s\r\n" % (len(PARTIAL), PARTIAL))
    time.sleep(0.05)
    reset(conn)


STALL_BODY_LEN = 1000


def stall_after_head(conn, rec):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n0123456789" % STALL_BODY_LEN)
    wait_peer_close(conn, rec)


def close_before_head(conn, rec):
    try:
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    time.sleep(0.05)
    conn.close()


def rst_before_head(conn, rec):
    reset(conn)


def garbage_binary(conn, rec):
    # A TLS-ish record then a blank line: not a status line; the connection stays open, so
    # only the parser (not EOF or a timer) can end the exchange.
    conn.sendall(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n")
    wait_peer_close(conn, rec)


def overlong_head(conn, rec):
    # A status line and then 80 KiB of header bytes with no end of head, connection open.
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    try:
        for _ in range(80):
            conn.sendall(b"X-Pad: " + b"a" * 1014 + b"\r\n")
    except OSError:
        pass
    wait_peer_close(conn, rec)


def conflicting_length(conn, rec):
    # RFC 9112 §6.3 item 5: differing Content-Length values are an unrecoverable error.
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello")
    wait_peer_close(conn, rec)


def sink(conn, rec):
    """Swallows the request body and never answers, recording how the connection ended."""
    wait_peer_close(conn, rec)


def read_head(conn, buf=b""):
    """Reads one request head; returns (head, what followed it), or (None, b"") at EOF."""
    while b"\r\n\r\n" not in buf:
        d = conn.recv(65536)
        if not d:
            return None, b""
        buf += d
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]


class StaleKeepAlive:
    """An origin whose keep-alive timeout strikes just as its idle connection is reused: the
    first connection answers one request (keep-alive, body "first"), then reads the next
    request head and closes without answering (FIN, or RST when rst=True). That is the race
    RFC 9112 §9.3.1 describes, made deterministic. Later connections answer every request
    with body "fresh" (later="answer") or close before any header (later="close").
    Each connection's record gets "heads": the request heads it read."""

    def __init__(self, rst=False, later="answer"):
        self.rst, self.later = rst, later
        self._lock = threading.Lock()
        self.connections = 0

    def reset(self):
        with self._lock:
            self.connections = 0

    def __call__(self, conn, rec):
        with self._lock:
            index = self.connections
            self.connections += 1
        rec["heads"] = [rec["head"]]
        if index == 0:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
            head, _ = read_head(conn)
            if head is not None:
                rec["heads"].append(head)
            if self.rst:
                reset(conn)
            else:
                conn.close()
            return
        if self.later == "close":
            close_before_head(conn, rec)
            return
        rest, head = b"", rec["head"]
        while True:
            body = b"" if head.startswith(b"HEAD ") else b"fresh"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + body)
            head, rest = read_head(conn, rest)
            if head is None:
                return
            rec["heads"].append(head)


class FaultServer(StubServer):
    def __init__(self, ip, port, behaviour):
        super().__init__()
        self.ip, self.port, self.behaviour = ip, port, behaviour
        self.sock = self.own(listen_socket(ip, port, backlog=256))
        self._lock = threading.Lock()
        self.records = []

    def start(self):
        self.serve_stream(self.sock, self._accepted, "fault-%s" % self.ip)
        return self

    def clear(self):
        with self._lock:
            self.records = []

    def finished(self):
        with self._lock:
            return [r for r in self.records if r["done"].is_set()]

    def wait_finished(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.finished()
            if len(got) >= n:
                return got
            time.sleep(0.02)
        return self.finished()

    def _accepted(self, conn):
        rec = {"head": b"", "body_bytes": 0, "end": None, "end_at": None,
               "done": threading.Event()}
        with self._lock:
            self.records.append(rec)
        spawn(self._serve, conn, rec)

    def _serve(self, conn, rec):
        try:
            conn.settimeout(10)
            head, rest = read_head(conn)
            if head is None:
                rec["end"] = "eof before head"
                return
            rec["head"], rec["body_bytes"] = head, len(rest)
            self.behaviour(conn, rec)
        except OSError as e:
            if rec["end"] is None:
                rec["end"] = "error %s" % e
        finally:
            try:
                conn.close()
            except OSError:
                pass
            rec["done"].set()


# ---- DNS ------------------------------------------------------------------------------------

class FaultDNS(dns_server.DNSServer):
    """Answers from its own table (the default names plus what tests set). UDP answers over
    512 bytes are truncated with TC set (RFC 1035 §4.2.1); with tcp=False nothing listens on
    TCP, so the retry the TC bit calls for is refused."""

    def __init__(self, host, port=53, tcp=True):
        super().__init__(host, port, tcp=tcp)
        self.table = self  # tests change names through .table

    @property
    def endpoint(self):
        return "%s:%d" % (self.host, self.port)
