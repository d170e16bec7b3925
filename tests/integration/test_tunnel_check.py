"""Issue 14, item 1: every CONNECT tunnel's first bytes are read before it opens. A TLS
ClientHello whose SNI names the CONNECT target passes; one that names another host the agent may
not reach (domain fronting through an allowed name) is refused with a TLS alert and not one byte
reaches the target; a hello split across writes is reassembled before it is judged; no SNI, an
IP address as SNI and ECH follow the tunnel: settings; plain HTTP inside a CONNECT (undici sends
http:// URLs so) is judged request by request with Host bound to the tunnel's target; other
bytes pass only to a port in tunnel.opaque_ports. Each target is a recording server inside the
suite's network namespace."""

import base64
import hashlib
import os
import socket
import subprocess
import ssl
import urllib.request
import struct
import time

import pytest

from sluice_proc import free_port
from stub_server import StubServer, conversation, listen_socket, spawn
from test_transparent import client_hello

TARGET_IP = "192.0.2.10"  # public.test, and what every name of this file resolves to
ALERT_ACCESS_DENIED, ALERT_UNRECOGNIZED_NAME = 49, 112


class Recorder(StubServer):
    """A TCP server on TARGET_IP (a free port) that keeps every byte each connection sent and
    answers the first bytes with b"SERVER-HELLO"."""

    def __init__(self):
        super().__init__()
        self.received = []
        sock = self.own(listen_socket(TARGET_IP, 0))
        self.port = sock.getsockname()[1]
        self.serve_stream(sock, lambda conn: spawn(self._conn, conn), "recorder")

    def _conn(self, conn):
        got = bytearray()
        self.received.append(got)
        with conversation(conn, 3):
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                if not got:
                    conn.sendall(b"SERVER-HELLO")
                got += data

    def bytes_received(self):
        return sum(len(g) for g in self.received)


@pytest.fixture
def recorder():
    r = Recorder()
    yield r
    r.stop()


def target(recorder):
    return "public.test:%d" % recorder.port


def crafted_hello(sni=None, ech_outer=False):
    """A minimal well-formed ClientHello: any SNI text (an IP address too), optionally an outer
    encrypted_client_hello."""
    exts = b""
    if sni is not None:
        name = sni.encode()
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        lst = struct.pack("!H", len(entry)) + entry
        exts += struct.pack("!HH", 0, len(lst)) + lst
    versions = b"\x02\x03\x04"
    exts += struct.pack("!HH", 43, len(versions)) + versions
    if ech_outer:
        body = b"\x00" + b"\x00\x01\x00\x01" + b"\x07" + struct.pack("!H", 32) + bytes(32) + \
            struct.pack("!H", 16) + bytes(range(16))
        exts += struct.pack("!HH", 0xfe0d, len(body)) + body
    hello = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + \
        struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(hello))[1:] + hello
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def open_tunnel(proxy_port, target, timeout=3.0):
    s = socket.create_connection(("127.0.0.1", proxy_port), timeout=timeout)
    s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target.encode(), target.encode()))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, "proxy closed before answering the CONNECT"
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head
    return s


def read_all(s, timeout=3.0):
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return out


def send_through(proxy_port, target, first, pieces=1, pause=0.05):
    """Opens a tunnel, sends `first` in `pieces` writes, and returns what came back."""
    s = open_tunnel(proxy_port, target)
    step = max(1, -(-len(first) // pieces))
    for i in range(0, len(first), step):
        s.sendall(first[i:i + step])
        time.sleep(pause)
    s.shutdown(socket.SHUT_WR)
    out = read_all(s)
    s.close()
    return out


@pytest.fixture
def tunnel_sluice(sluice, dns):
    def start(tunnel=None, **extra):
        cfg = {"ports": ["*"], "workers": 1,
               "allow": ["public.test", "www.public.test", "both.test"],
               "tunnel": dict({"opaque_ports": []}, **(tunnel or {}))}
        cfg.update(extra)
        return sluice(cfg)
    dns.set("www.public.test", a=[TARGET_IP])
    yield start


def test_sni_of_the_target_opens_the_tunnel(tunnel_sluice, recorder):
    p = tunnel_sluice()
    hello = client_hello("public.test")
    out = send_through(p.port, target(recorder), hello)
    assert out == b"SERVER-HELLO"
    assert bytes(recorder.received[0]) == hello  # relayed unchanged, the hello first
    [line] = p.wait_logs({"method": "CONNECT", "event": "end"})
    assert line["decision"] == "allow" and line["rule"] == "allow: public.test", line
    assert line["sni"] == "public.test" and "alpn" not in line, line  # Python offers none


def test_fronting_through_an_allowed_name_is_refused(tunnel_sluice, recorder):
    """CONNECT to an allowed name, SNI naming one the agent may not reach."""
    admin = free_port()
    p = tunnel_sluice(listen={"admin": "127.0.0.1:%d" % admin})
    out = send_through(p.port, target(recorder), client_hello("blocked.test"))
    assert out == bytes([21, 3, 3, 0, 2, 2, ALERT_ACCESS_DENIED]), out
    time.sleep(0.2)
    assert recorder.bytes_received() == 0  # not one byte of the hello reached the target
    [line] = p.wait_logs({"method": "CONNECT", "event": "end"})
    assert line["decision"] == "deny" and line["reason"] == "sni_mismatch", line
    assert line["rule"] == "sni blocked.test: allow: no pattern matches", line
    assert line["status"] == 200 and line["ended"] == "policy/tunnel_check", line
    metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=3).read()
    assert b'reason="sni_mismatch"' in metrics, metrics


def test_split_hello_is_reassembled_before_judging(tunnel_sluice, recorder):
    p = tunnel_sluice()
    bad = client_hello("blocked.test")
    assert send_through(p.port, target(recorder), bad, pieces=7) == \
        bytes([21, 3, 3, 0, 2, 2, ALERT_ACCESS_DENIED])
    assert recorder.bytes_received() == 0
    good = client_hello("public.test")
    assert send_through(p.port, target(recorder), good, pieces=7) == b"SERVER-HELLO"
    assert bytes(recorder.received[-1]) == good


def test_another_name_the_agent_may_reach_passes(tunnel_sluice, recorder):
    p = tunnel_sluice()
    assert send_through(p.port, target(recorder),
                        client_hello("www.public.test")) == b"SERVER-HELLO"
    [line] = p.wait_logs({"method": "CONNECT", "event": "end"})
    assert line["decision"] == "allow", line
    assert line["rule"] == "sni www.public.test: allow: www.public.test", line


def test_report_mode_lets_a_mismatch_through_and_says_so(tunnel_sluice, recorder):
    p = tunnel_sluice(mode="report")
    assert send_through(p.port, target(recorder),
                        client_hello("blocked.test")) == b"SERVER-HELLO"
    [line] = p.wait_logs({"method": "CONNECT", "event": "end"})
    assert line["decision"] == "report" and line["reason"] == "domain_not_allowed", line


@pytest.mark.parametrize("setting,want", [(None, "open"), ("allow", "open"), ("deny", "refused")])
def test_missing_sni(tunnel_sluice, recorder, setting, want):
    p = tunnel_sluice(tunnel={"missing_sni": setting} if setting else None)
    out = send_through(p.port, target(recorder), client_hello(None))
    if want == "open":
        assert out == b"SERVER-HELLO"
    else:
        assert out == bytes([21, 3, 3, 0, 2, 2, ALERT_UNRECOGNIZED_NAME]), out
        assert recorder.bytes_received() == 0
        [line] = p.wait_logs({"method": "CONNECT", "event": "end"})
        assert line["reason"] == "tls_no_sni", line


def test_ip_literal_sni(tunnel_sluice, recorder):
    p = tunnel_sluice(allow=["*"])
    out = send_through(p.port, "%s:%d" % (TARGET_IP, recorder.port), crafted_hello(TARGET_IP))
    assert out == bytes([21, 3, 3, 0, 2, 2, ALERT_UNRECOGNIZED_NAME]), out
    [line] = p.wait_logs({"method": "CONNECT", "event": "end"})
    assert line["reason"] == "tls_sni_literal" and line["rule"] == "tunnel.ip_sni: deny", line
    p2 = tunnel_sluice(allow=["*"], tunnel={"ip_sni": "allow"})
    assert send_through(p2.port, "%s:%d" % (TARGET_IP, recorder.port),
                        crafted_hello(TARGET_IP)) == b"SERVER-HELLO"
    # Allowed only as the tunnel's own address.
    out = send_through(p2.port, "%s:%d" % (TARGET_IP, recorder.port), crafted_hello("198.51.100.10"))
    assert out == bytes([21, 3, 3, 0, 2, 2, ALERT_ACCESS_DENIED]), out


def test_ech_outer_sni_is_judged_or_refused(tunnel_sluice, recorder):
    p = tunnel_sluice()
    # GREASE ECH carries the real name outside: judged as any SNI.
    assert send_through(p.port, target(recorder),
                        crafted_hello("public.test", ech_outer=True)) == b"SERVER-HELLO"
    # A real ECH's outer name is the client-facing server's, refused like any other name.
    assert send_through(p.port, target(recorder),
                        crafted_hello("cloudflare-ech.test", ech_outer=True)) == \
        bytes([21, 3, 3, 0, 2, 2, ALERT_ACCESS_DENIED])
    p2 = tunnel_sluice(tunnel={"ech": "deny"})
    assert send_through(p2.port, target(recorder),
                        crafted_hello("public.test", ech_outer=True)) == \
        bytes([21, 3, 3, 0, 2, 2, ALERT_ACCESS_DENIED])
    [line] = p2.wait_logs({"method": "CONNECT", "event": "end"})
    assert line["reason"] == "tls_ech", line


def test_other_bytes_only_to_opaque_ports(tunnel_sluice, recorder):
    p = tunnel_sluice()
    out = send_through(p.port, target(recorder), b"SSH-2.0-OpenSSH_9.2\r\n")
    assert out == b""
    time.sleep(0.2)
    assert recorder.bytes_received() == 0
    [line] = p.wait_logs({"method": "CONNECT", "event": "end"})
    assert line["reason"] == "tunnel_not_tls", line
    assert line["rule"] == "tunnel.opaque_ports: %d not listed" % recorder.port, line
    p2 = tunnel_sluice(tunnel={"opaque_ports": [recorder.port]})
    assert send_through(p2.port, target(recorder),
                        b"SSH-2.0-OpenSSH_9.2\r\n") == b"SERVER-HELLO"
    p3 = tunnel_sluice(tunnel={"inspect": False})
    assert send_through(p3.port, target(recorder), b"\x00\x01binary") == b"SERVER-HELLO"


def test_a_silent_client_is_ended_by_the_head_timeout(tunnel_sluice, recorder):
    p = tunnel_sluice()
    s = open_tunnel(p.port, target(recorder))
    assert read_all(s, timeout=5) == b""
    s.close()
    [line] = p.wait_logs({"method": "CONNECT", "event": "end"}, timeout=5)
    assert line["reason"] == "head_timeout", line
    assert recorder.bytes_received() == 0


def http_get(host, path="/echo"):
    return b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path.encode(), host.encode())


def read_response(s):
    """One response with a Content-Length body."""
    s.settimeout(3)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        body += s.recv(65536)
    return head, body


def test_http_inside_a_tunnel_is_judged_request_by_request(tunnel_sluice, origins):
    p = tunnel_sluice()
    before = origins.hits("198.51.100.10")
    s = open_tunnel(p.port, "public.test:80")
    for _ in range(2):  # keep-alive inside the tunnel
        s.sendall(http_get("public.test"))
        head, body = read_response(s)
        assert head.startswith(b"HTTP/1.1 200"), head
    # Another host inside the same tunnel: refused, and its origin saw nothing.
    s.sendall(http_get("public2.test"))
    head, body = read_response(s)
    assert head.startswith(b"HTTP/1.1 403"), head
    assert b"tunnel_host_mismatch" in head, head
    s.close()
    assert origins.hits("198.51.100.10") == before
    lines = p.wait_logs({"event": "end"}, count=4)
    connect = [l for l in lines if l["method"] == "CONNECT"]
    gets = [l for l in lines if l["method"] == "GET"]
    assert connect and connect[0]["decision"] == "allow", lines
    assert [l["decision"] for l in gets] == ["allow", "allow", "deny"], gets
    assert gets[2]["reason"] == "tunnel_host_mismatch", gets
    assert gets[2]["rule"] == "tunnel: CONNECT public.test:80", gets


def test_http_inside_a_tunnel_keeps_the_connect_agent(sluice, dns):
    """The agent named by the CONNECT's credentials is the agent of each request inside."""
    token_sha = hashlib.sha256(b"s3cret").hexdigest()
    p = sluice({"workers": 1, "tunnel": {"opaque_ports": []},
                "agents": [{"name": "coder", "match": {"token_sha256": token_sha},
                            "allow": ["public.test"]},
                           {"name": "default", "allow": ["nothing.test"]}]})
    s = socket.create_connection(("127.0.0.1", p.port), timeout=3)
    cred = base64.b64encode(b"coder:s3cret")
    s.sendall(b"CONNECT public.test:80 HTTP/1.1\r\nHost: public.test:80\r\n"
              b"Proxy-Authorization: Basic " + cred + b"\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head
    s.sendall(http_get("public.test"))
    head, _ = read_response(s)
    assert head.startswith(b"HTTP/1.1 200"), head
    s.close()
    [get] = p.wait_logs({"method": "GET", "event": "end"})
    assert get["agent"] == "coder" and get["decision"] == "allow", get


# ---- real clients ---------------------------------------------------------------------------

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODE_MODULES = os.path.join(ROOT, "tests", "clients", "node_modules")


class TlsOrigin(StubServer):
    """An HTTPS origin on TARGET_IP with a self-signed certificate for public.test; it records
    the SNI of every handshake."""

    def __init__(self, tmp_path):
        super().__init__()
        self.cert, self.key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=public.test",
                        "-addext", "subjectAltName=DNS:public.test", "-days", "1",
                        "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(self.cert, self.key)
        self.snis = []
        self.ctx.sni_callback = lambda obj, name, ctx: self.snis.append(name) and None
        sock = self.own(listen_socket(TARGET_IP, 0))
        self.port = sock.getsockname()[1]
        self.serve_stream(sock, lambda conn: spawn(self._conn, conn), "tls-origin")

    def _conn(self, conn):
        with conversation(conn, 3):
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = tls.recv(4096)
                        if not chunk:
                            return
                        data += chunk
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
                                b"Connection: close\r\n\r\nsecret")
            except ssl.SSLError:
                pass


@pytest.fixture
def tls_origin(tmp_path):
    o = TlsOrigin(tmp_path)
    yield o
    o.stop()


def curl(proxy_port, url, *extra):
    return subprocess.run(["curl", "-sS", "--max-time", "5", "--proxy",
                           "http://127.0.0.1:%d" % proxy_port, *extra, url],
                          capture_output=True, text=True, timeout=15)


def test_curl_https_through_a_checked_tunnel(tunnel_sluice, tls_origin):
    p = tunnel_sluice()
    r = curl(p.port, "https://public.test:%d/" % tls_origin.port, "--cacert", tls_origin.cert)
    assert r.returncode == 0 and r.stdout == "secret", r
    assert tls_origin.snis == ["public.test"]
    [line] = p.wait_logs({"method": "CONNECT", "event": "end"})
    assert line["sni"] == "public.test" and "http/1.1" in line["alpn"].split(","), line


def test_curl_fronting_with_connect_to_is_refused(tunnel_sluice, tls_origin):
    """curl asks the proxy for public.test (allowed) while its TLS names blocked.test."""
    p = tunnel_sluice()
    port = tls_origin.port
    r = curl(p.port, "https://blocked.test:%d/" % port, "--cacert", tls_origin.cert,
             "--connect-to", "blocked.test:%d:public.test:%d" % (port, port))
    assert r.returncode != 0 and "secret" not in r.stdout, r
    assert tls_origin.snis == []  # the origin saw no handshake at all
    [line] = p.wait_logs({"method": "CONNECT", "event": "end"})
    assert line["host"] == "public.test" and line["reason"] == "sni_mismatch", line


@pytest.mark.skipif(not os.path.isdir(os.path.join(NODE_MODULES, "undici")),
                    reason="undici is not installed (make deps)")
def test_undici_http_url_through_connect_80(tunnel_sluice, origins):
    """undici's ProxyAgent sends http:// URLs as CONNECT host:80 and HTTP inside."""
    p = tunnel_sluice()
    script = """
const { ProxyAgent, request } = require('undici');
(async () => {
  const dispatcher = new ProxyAgent('http://127.0.0.1:%d');
  for (const url of ['http://public.test/echo', 'http://public.test/echo']) {
    const r = await request(url, { dispatcher });
    console.log(r.statusCode, (await r.body.text()).length > 0);
  }
  try {
    const r = await request('http://public2.test/echo', { dispatcher });
    console.log(r.statusCode);
  } catch (e) { console.log('refused', e.code || e.name); }
  await dispatcher.close();
})();
""" % p.port
    before = origins.hits("198.51.100.10")
    r = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30,
                       env={"NODE_PATH": NODE_MODULES, "PATH": "/usr/bin:/bin"})
    lines = r.stdout.split("\n")
    assert lines[:2] == ["200 true", "200 true"], r
    assert lines[2].startswith("refused") or lines[2] == "403", r
    assert origins.hits("198.51.100.10") == before
    gets = p.wait_logs({"method": "GET", "event": "end"}, count=2)
    assert [g["decision"] for g in gets] == ["allow", "allow"], gets
