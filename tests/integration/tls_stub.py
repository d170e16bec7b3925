"""A TLS HTTP/1.1 origin for the https-route tests (test_routes_tls.py), on an "internal"
address (10.0.0.7, added to the test namespace's lo) that only a route can reach.

A throwaway CA and certificates are made with the openssl CLI in a temporary directory
(make_pki). One server process-thread per port:

    8443  certificate for secure.internal (DNS SAN), signed by the test CA
    8444  certificate for other.internal, signed by the same CA (a name mismatch for sluice)
    8445  plain HTTP on a port an https:// route points at (no TLS at all)

Keep-alive capable (HTTP/1.1, every response framed). It records every TCP connection, every
TLS handshake (SNI, or the handshake error) and every request with its headers and the
sha256 and length of its body, so a test can assert what arrived over TLS. Paths:

    /big?n=N      N bytes (default 5 MB) by Content-Length; byte i is i % 251
    /chunked      the same pattern, chunked, in chunks of varied sizes (see CHUNKS)
    /echo         the request as JSON (method, path, headers, body length and sha256)
    /close        "closing", keep-alive framed, then the connection is closed anyway
    anything else 404
"""

import hashlib
import json
import os
import ssl
import subprocess
import urllib.parse

from stub_server import RecordingStub, StubHandler, StubHTTPServer, ensure_lo_addresses

TLS_IP = "10.0.0.7"
GOOD_PORT, WRONG_NAME_PORT, PLAIN_PORT = 8443, 8444, 8445
TLS_NAME = "secure.internal"
OTHER_NAME = "other.internal"

BIG_DEFAULT = 5 * 1000 * 1000
# Chunk sizes for /chunked: tiny ones, ones around TLS record size (16 KiB) and big ones, so
# sluice's TLS read loop sees records split across reads and data left pending in OpenSSL.
CHUNKS = [1, 7, 16383, 16384, 16385, 3, 65536, 200000, 1, 524288, 100, 16384 * 3 + 5, 250000]


def pattern(n, start=0):
    """Bytes start..start+n-1 of the i % 251 pattern."""
    unit = bytes(range(251))
    reps = (n + start % 251) // 251 + 2
    block = unit * reps
    off = start % 251
    return block[off:off + n]


def chunked_body():
    return pattern(sum(CHUNKS))


# ---- certificates -------------------------------------------------------------------------

def _run(args, cwd):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(args), r.stderr))


def _key(d, name):
    _run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-out", name], d)


def _leaf(d, stem, dns_name):
    _key(d, stem + ".key")
    _run(["openssl", "req", "-new", "-key", stem + ".key", "-out", stem + ".csr", "-subj",
          "/CN=" + dns_name], d)
    with open(os.path.join(d, stem + ".ext"), "w") as f:
        f.write("basicConstraints = critical,CA:FALSE\n"
                "keyUsage = critical,digitalSignature\n"
                "extendedKeyUsage = serverAuth\n"
                "subjectAltName = DNS:%s\n" % dns_name)
    _run(["openssl", "x509", "-req", "-in", stem + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
          "-CAcreateserial", "-days", "2", "-extfile", stem + ".ext", "-out", stem + ".pem"], d)
    return os.path.join(d, stem + ".pem"), os.path.join(d, stem + ".key")


def make_pki(d):
    """A throwaway CA in directory d (absolute) and two leaf certificates it signed: one for
    secure.internal, one for other.internal. Returns {"ca": path, "good": (cert, key),
    "wrong": (cert, key)}."""
    d = os.path.abspath(str(d))
    _key(d, "ca.key")
    _run(["openssl", "req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", "2",
          "-subj", "/CN=sluice-route-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    return {"ca": os.path.join(d, "ca.pem"), "good": _leaf(d, "good", TLS_NAME),
            "wrong": _leaf(d, "wrong", OTHER_NAME)}


# ---- the server ---------------------------------------------------------------------------

class Handler(StubHandler):
    server_version = "tls-stub/1"
    default_ctype = "application/octet-stream"
    timeout = 10

    def setup(self):
        super().setup()
        sock = self.request
        if isinstance(sock, ssl.SSLSocket):
            sock.settimeout(10)
            try:
                sock.do_handshake()
            except (OSError, ssl.SSLError) as e:
                self.server.stub.record_handshake(self.server.server_address[1], None, repr(e))
                self.close_connection = True
                self._handshake_failed = True
                return
            self.server.stub.record_handshake(self.server.server_address[1],
                                              getattr(sock, "sni", None), None)
        self._handshake_failed = False

    def handle(self):
        if getattr(self, "_handshake_failed", False):
            return
        super().handle()

    def _handle(self):
        h = hashlib.sha256()
        n = self._read_body(h.update)
        rec = {"method": self.command, "path": self.path, "headers": list(self.headers.items()),
               "port": self.server.server_address[1], "body_len": n,
               "body_sha256": h.hexdigest(),
               "tls": isinstance(self.request, ssl.SSLSocket)}
        self.server.stub.record(rec)
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/big":
            qs = urllib.parse.parse_qs(url.query)
            size = int(qs.get("n", [BIG_DEFAULT])[0])
            self._send(200, pattern(size))
        elif url.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            off = 0
            for size in CHUNKS:
                self.wfile.write(b"%x\r\n" % size + pattern(size, off) + b"\r\n")
                off += size
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/reflect":
            self._send(200, b"reflected", "text/plain",
                       [("X-Seen-Authorization", self.headers.get("Authorization", ""))])
        elif url.path == "/echo":
            doc = {k: rec[k] for k in ("method", "path", "headers", "body_len", "body_sha256")}
            self._send(200, json.dumps(doc).encode(), "application/json")
        elif url.path == "/close":
            # A keep-alive answer, then the connection ends anyway (TCP close, no
            # close_notify): what an upstream's idle timeout does to a pooled connection.
            self._send(200, b"closing", "text/plain")
            self.wfile.flush()
            self.close_connection = True
        else:
            self._send(404, b"not found\n", "text/plain")

    do_GET = do_POST = do_PUT = do_HEAD = _handle


class _Server(StubHTTPServer):
    def __init__(self, ip, port, handler, on_accept, ctx):
        self.ctx = ctx
        super().__init__(ip, port, handler, on_accept)

    def get_request(self):
        conn, addr = super().get_request()
        if self.ctx is not None:
            # The handshake runs in the handler's thread (Handler.setup), never in the accept
            # loop, so one refused handshake cannot stall the next connection.
            conn = self.ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, addr


def _context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    def sni(sock, name, _ctx):
        sock.sni = name

    ctx.sni_callback = sni
    return ctx


class TLSStub(RecordingStub):
    def __init__(self, pki, ip=TLS_IP):
        super().__init__(ip, "tls-stub")
        self.pki = pki
        self._handshakes = []

    def start(self):
        ensure_lo_addresses([self.ip])
        for port, ctx in ((GOOD_PORT, _context(*self.pki["good"])),
                          (WRONG_NAME_PORT, _context(*self.pki["wrong"])),
                          (PLAIN_PORT, None)):
            self.serve(port, Handler, _Server, ctx=ctx)
        return self

    def record_handshake(self, port, sni, error):
        with self._lock:
            self._handshakes.append({"port": port, "sni": sni, "error": error})

    def reset(self):
        super().reset()
        with self._lock:
            self._handshakes = []

    @property
    def handshakes(self):
        with self._lock:
            return list(self._handshakes)
