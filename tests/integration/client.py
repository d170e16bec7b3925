"""Clients for the integration tests: a raw-socket HTTP/1.1 client (for the bytes curl would
normalise away) and a curl wrapper."""

import hashlib
import json
import os
import re
import socket
import subprocess
import tempfile
import threading

CURL = "/usr/bin/curl"


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value), in order
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def headers_named(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r headers=%r body=%r>" % (self.status, self.reason, self.headers,
                                                        self.body[:300])


class ConnectionClosed(Exception):
    pass


class RawConn:
    """One client connection to the proxy, with a read buffer."""

    def __init__(self, addr, timeout=5.0):
        host, port = addr
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b""
        self.timeout = timeout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(256 * 1024)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionClosed("connection closed by the proxy")
        self.buf += chunk

    def _read_until(self, sep, limit=1 << 20):
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise AssertionError("no %r within %d bytes" % (sep, limit))
            self._fill()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_some(self, n=256 * 1024):
        if self.buf:
            out, self.buf = self.buf[:n], self.buf[n:]
            return out
        try:
            return self.sock.recv(n)
        except ConnectionResetError:
            return b""

    def read_response(self, method="GET", body_sink=None):
        """Reads one response. For CONNECT 2xx and HEAD/1xx/204/304 no body is read.
        body_sink(bytes), when given, receives the body instead of Response.body."""
        head = self._read_until(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        m = re.match(rb"HTTP/(\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise AssertionError("bad status line %r" % lines[0])
        version, status = m.group(1).decode(), int(m.group(2))
        reason = (m.group(3) or b"").decode("latin-1")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
        resp = Response(version, status, reason, headers, b"", head)
        chunks = []
        sink = body_sink or chunks.append
        te = (resp.header("Transfer-Encoding") or "").lower()
        cl = resp.header("Content-Length")
        if method == "HEAD" or 100 <= status < 200 or status in (204, 304) or \
                (method == "CONNECT" and 200 <= status < 300):
            pass
        elif te:
            if te != "chunked":
                raise AssertionError("unexpected Transfer-Encoding %r" % te)
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0].strip(), 16)
                if size == 0:
                    while self._read_until(b"\r\n") != b"\r\n":
                        pass
                    break
                left = size
                while left:
                    if not self.buf:
                        self._fill()
                    take = self.buf[:left]
                    self.buf = self.buf[len(take):]
                    sink(take)
                    left -= len(take)
                self._read_exact(2)
        elif cl is not None:
            left = int(cl)
            while left:
                if not self.buf:
                    self._fill()
                take = self.buf[:left]
                self.buf = self.buf[len(take):]
                sink(take)
                left -= len(take)
        else:
            while True:
                try:
                    if not self.buf:
                        self._fill()
                except ConnectionClosed:
                    break
                sink(self.buf)
                self.buf = b""
        resp.body = b"".join(chunks)
        return resp

    def read_final_response(self, method="GET"):
        """Skips interim (1xx) responses."""
        while True:
            r = self.read_response(method)
            if not (100 <= r.status < 200) or r.status == 101:
                return r

    def is_closed(self, timeout=2.0):
        """True when the proxy closes the connection (EOF or RST) within timeout with no
        further bytes; False when it stays open. Unexpected bytes fail the test."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        if data:
            raise AssertionError("unexpected bytes after the response: %r" % data[:200])
        return True


def request(addr, data, method="GET", timeout=5.0):
    """Sends raw bytes on a new connection, reads one response, closes."""
    with RawConn(addr, timeout) as c:
        c.send(data)
        return c.read_final_response(method)


def get(addr, url, host=None, extra_headers=(), method="GET", version="1.1", body=None):
    """A well-formed absolute-form request (Host derived from the URL unless given)."""
    if host is None:
        host = re.match(r"[a-z]+://([^/]*)", url).group(1)
    h = ["%s %s HTTP/%s" % (method, url, version), "Host: " + host]
    h += ["%s: %s" % kv for kv in extra_headers]
    if body is not None:
        h.append("Content-Length: %d" % len(body))
    data = ("\r\n".join(h) + "\r\n\r\n").encode("latin-1") + (body or b"")
    return request(addr, data, method)


def connect_req(authority, host=None):
    return ("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, host or authority)).encode()


def parse_proxy_status(value):
    """'sluice; error=x; details="..."' -> {"_name": "sluice", "error": "x", "details": "..."}"""
    if value is None:
        return None
    out = {}
    parts = re.findall(r'(?:[^;"]|"(?:[^"\\]|\\.)*")+', value)
    out["_name"] = parts[0].strip() if parts else ""
    for p in parts[1:]:
        k, _, v = p.strip().partition("=")
        v = v.strip()
        if v.startswith('"') and v.endswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        out[k.strip().lower()] = v
    return out


# ---- curl ---------------------------------------------------------------------------------

def _clean_env():
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


class CurlTransfer:
    def __init__(self, info, body, head):
        self.info = info
        self.status = info.get("http_code") or info.get("response_code")
        self.num_connects = info.get("num_connects")
        self.body = body
        self.head = head

    def header(self, name):
        # the last response's headers (after a possible CONNECT response)
        blocks = [b for b in self.head.split(b"\r\n\r\n") if b.strip()]
        if not blocks:
            return None
        for line in blocks[-1].split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.decode("latin-1").lower() == name.lower():
                return v.strip().decode("latin-1")
        return None


def _run(cmd, stdin_iter, out_sink, timeout):
    """Runs a command; stdin_iter (an iterable of bytes) is fed to its stdin from a thread;
    stdout goes to out_sink(bytes) when given. Returns (returncode, stdout, stderr text)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE if stdin_iter is not None else subprocess.DEVNULL,
                         env=_clean_env())
    errbuf = []
    t_err = threading.Thread(target=lambda: errbuf.append(p.stderr.read()), daemon=True)
    t_err.start()
    if stdin_iter is not None:
        def feed():
            try:
                for c in stdin_iter:
                    p.stdin.write(c)
                p.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass
        threading.Thread(target=feed, daemon=True).start()
    out = []
    sink = out_sink or out.append
    while True:
        c = p.stdout.read(1 << 20)
        if not c:
            break
        sink(c)
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    t_err.join(5)
    err = (errbuf[0] if errbuf else b"").decode("utf-8", "replace")
    return rc, b"".join(out), err


def curl(proxy_url, urls, args=(), timeout=30, stdin_iter=None):
    """Runs one curl process fetching each URL through the proxy; returns (returncode, stderr,
    [CurlTransfer per completed URL])."""
    if isinstance(urls, str):
        urls = [urls]
    with tempfile.TemporaryDirectory() as d:
        cmd = [CURL, "-sS", "--noproxy", "", "-x", proxy_url, "--max-time", str(timeout),
               "-w", "%{json}\n"] + list(args)
        for i, u in enumerate(urls):
            cmd += ["-o", os.path.join(d, "b%d" % i), "-D", os.path.join(d, "h%d" % i), u]
        rc, out, err = _run(cmd, stdin_iter, None, timeout + 10)
        infos = [json.loads(l) for l in out.decode().splitlines() if l.startswith("{")]
        transfers = []
        for i, info in enumerate(infos):
            def rd(name):
                p = os.path.join(d, name)
                if not os.path.exists(p):
                    return b""
                with open(p, "rb") as f:
                    return f.read()
            transfers.append(CurlTransfer(info, rd("b%d" % i), rd("h%d" % i)))
        return rc, err, transfers


def curl_sha256(proxy_url, url, args=(), timeout=60, stdin_iter=None):
    """Streams one transfer's body through sha256. Returns (returncode, stderr, hexdigest,
    length, http_code)."""
    cmd = [CURL, "-sS", "--noproxy", "", "-x", proxy_url, "--max-time", str(timeout),
           "-o", "-", "-w", "%{stderr}CURL_HTTP_CODE=%{http_code}\n"] + list(args) + [url]
    h = hashlib.sha256()
    n = [0]

    def sink(c):
        h.update(c)
        n[0] += len(c)
    rc, _, err = _run(cmd, stdin_iter, sink, timeout + 10)
    m = re.search(r"CURL_HTTP_CODE=(\d+)", err)
    return rc, err, h.hexdigest(), n[0], int(m.group(1)) if m else None


def tunnel_roundtrip(c, data):
    """On an established tunnel: sends data and half-closes from a thread; returns everything
    received until EOF."""
    def sender():
        c.sock.sendall(data)
        c.sock.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    got = bytearray(c.buf)
    c.buf = b""
    c.sock.settimeout(10)
    while True:
        chunk = c.sock.recv(256 * 1024)
        if not chunk:
            break
        got += chunk
    t.join(10)
    return bytes(got)
