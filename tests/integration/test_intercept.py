"""Issue 14, items 2, 3, 5 and 6: TLS interception where the policy says (intercept:). sluice
answers an intercepted CONNECT's TLS with a leaf it mints for the host, signed by the deployment
CA (tls.state_dir), verifies the origin's certificate against tls.upstream_ca, and judges and
forwards every request inside as it would a plain one: request rules apply to HTTPS, a refusal
is an HTTP reply inside the TLS session with Proxy-Status, keep-alive and bodies stream, a
WebSocket's 101 turns the session into a relay. An origin whose certificate does not verify is
refused (502 tls_certificate_error, tls_protocol_error without TLS) and gets no request; a
client that does not trust the CA is logged as such; tls.never_intercept hosts pass as plain
tunnels. Each origin is a recording HTTPS server inside the suite's network namespace, with a
certificate from a throwaway CA."""

import base64
import hashlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import time

import pytest

import tls_stub
from stub_server import RecordingStub
from test_admin import scrape, start_with_admin, value
from test_tunnel_check import NODE_MODULES, open_tunnel
from test_websocket import GUID, KEY, WANT_ACCEPT, WsOrigin

TARGET_IP = "192.0.2.10"  # public.test, other.test (the suite's DNS)
HOST = "public.test"


# ---- certificates and origins ---------------------------------------------------------------

def make_pki(d):
    """A throwaway CA, a leaf it signed for public.test, one for other.test, and a self-signed
    public.test certificate no CA vouches for."""
    d = os.path.abspath(str(d))
    tls_stub._key(d, "ca.key")
    tls_stub._run(["openssl", "req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem",
                   "-days", "2", "-subj", "/CN=intercept-test-origin-ca", "-addext",
                   "basicConstraints=critical,CA:TRUE", "-addext",
                   "keyUsage=critical,keyCertSign,cRLSign"], d)
    rogue = (os.path.join(d, "rogue.pem"), os.path.join(d, "rogue.key"))
    tls_stub._run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + HOST, "-addext",
                   "subjectAltName=DNS:" + HOST, "-days", "1", "-keyout", rogue[1], "-out",
                   rogue[0]], d)
    return {"ca": os.path.join(d, "ca.pem"), "good": tls_stub._leaf(d, "good", HOST),
            "wrong": tls_stub._leaf(d, "wrong", "other.test"), "rogue": rogue}


class HttpsOrigin(RecordingStub):
    """tls_stub's recording HTTP/1.1 handler on TARGET_IP, one free port per kind: good (a
    public.test certificate from the test CA), wrong (other.test's), rogue (self-signed),
    plain (no TLS)."""

    def __init__(self, pki):
        super().__init__(TARGET_IP, "https-origin")
        self.port = {}
        self.server = {}
        for kind in ("good", "wrong", "rogue", "plain"):
            ctx = None if kind == "plain" else tls_stub._context(*pki[kind])
            s = tls_stub._Server(TARGET_IP, 0, tls_stub.Handler, None, ctx)
            port = s.server_address[1]
            s.on_accept = (lambda p=port: self.count_conn(p))
            s.stub = self
            self.servers.append(s.start("https-origin-%s" % kind))
            self.port[kind] = port
            self.server[kind] = s
        self._handshakes = []

    def record_handshake(self, port, sni, error):
        with self._lock:
            self._handshakes.append({"port": port, "sni": sni, "error": error})

    @property
    def handshakes(self):
        with self._lock:
            return list(self._handshakes)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("intercept-pki"))


@pytest.fixture
def origin(pki):
    o = HttpsOrigin(pki)
    yield o
    o.stop()


@pytest.fixture
def isluice(sluice, pki, tmp_path):
    """sluice intercepting public.test, trusting the test CA for origins; .ca is the PEM file
    an agent trusts."""
    state = tmp_path / "state"

    def start(intercept=(HOST,), tls=None, **extra):
        cfg = {"workers": 1, "ports": ["*"], "allow": [HOST, "other.test"],
               "tunnel": {"opaque_ports": []},
               "tls": dict({"state_dir": str(state), "upstream_ca": pki["ca"]}, **(tls or {})),
               "intercept": list(intercept)}
        cfg.update(extra)
        p = sluice(cfg)
        p.ca = str(state / "ca.pem")
        return p
    return start


def connection(p, port, cafile=None, host=HOST, timeout=5):
    """An http.client connection to https://host:port through sluice (CONNECT, then TLS
    trusting cafile, sluice's CA by default)."""
    ctx = ssl.create_default_context(cafile=cafile or p.ca)
    c = http.client.HTTPSConnection("127.0.0.1", p.port, timeout=timeout, context=ctx)
    c.set_tunnel(host, port)
    return c


def get(c, path, method="GET", body=None, headers=None):
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    return r.status, dict(r.getheaders()), r.read()


def curl(p, url, *extra):
    return subprocess.run(["curl", "-sS", "--max-time", "8", "--proxy",
                           "http://127.0.0.1:%d" % p.port, *extra, url],
                          capture_output=True, text=True, timeout=20)


def proxy_status(headers):
    return headers.get("Proxy-Status", "")


# ---- interception itself ---------------------------------------------------------------------

def test_curl_sees_sluices_leaf_and_the_origin_the_request(isluice, origin):
    p = isluice()
    url = "https://%s:%d/echo?token=abc" % (HOST, origin.port["good"])
    r = curl(p, url, "--cacert", p.ca, "-v")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["path"] == "/echo?token=abc"
    # The certificate curl verified is sluice's, not the origin's.
    assert "issuer: CN=sluice interception CA" in r.stderr, r.stderr
    [rec] = origin.requests
    assert rec["tls"] and rec["method"] == "GET", rec
    assert [h["sni"] for h in origin.handshakes] == [HOST]
    [connect] = p.wait_logs(match={"method": "CONNECT", "event": "end"})
    assert connect["intercept"] is True and connect["status"] == 200, connect
    [line] = p.wait_logs(match={"method": "GET", "event": "end"})
    assert line["path"] == "/echo", line  # the query is not logged
    assert line["status"] == 200 and line["decision"] == "allow", line
    assert line["sni"] == HOST and line["alpn"] == "h2", line  # curl offers h2 first
    assert line["intercept"] is True and line["upstream_cert"] == "verified", line


def test_curl_without_the_ca_is_refused_and_logged(isluice, origin):
    p = isluice()
    r = curl(p, "https://%s:%d/echo" % (HOST, origin.port["good"]))
    assert r.returncode == 60, r  # curl: peer certificate cannot be authenticated
    assert origin.requests == []
    [line] = p.wait_logs(match={"method": "CONNECT", "event": "end"})
    assert line["reason"] == "tls_client_untrusted", line
    assert "client:" in line.get("tls_error", ""), line


def test_keep_alive_requests_share_one_origin_connection(isluice, origin):
    p = isluice()
    c = connection(p, origin.port["good"])
    for i in range(3):
        status, _, body = get(c, "/echo?i=%d" % i)
        assert status == 200 and json.loads(body)["path"] == "/echo?i=%d" % i
    c.close()
    assert len(origin.requests) == 3
    # The CONNECT's verified connection served every request inside.
    assert origin.connections(origin.port["good"]) == 1
    assert len(origin.handshakes) == 1
    assert len(p.wait_logs(match={"method": "GET", "event": "end"}, count=3)) == 3


def test_bodies_stream_both_ways(isluice, origin):
    p = isluice()
    c = connection(p, origin.port["good"], timeout=20)
    payload = os.urandom(3 * 1000 * 1000 + 17)
    status, _, body = get(c, "/echo", "POST", payload)
    doc = json.loads(body)
    assert status == 200 and doc["body_len"] == len(payload), doc
    assert doc["body_sha256"] == hashlib.sha256(payload).hexdigest()
    status, _, body = get(c, "/big?n=5000000")
    assert status == 200 and body == tls_stub.pattern(5000000)
    status, _, body = get(c, "/chunked")
    assert status == 200 and body == tls_stub.chunked_body()
    c.close()


def test_rules_judge_https_requests(isluice, origin):
    rules = [{"host": HOST, "methods": ["GET"], "paths": ["/echo", "/big"]}]
    p = isluice(rules=rules)
    c = connection(p, origin.port["good"])
    status, _, _ = get(c, "/echo")
    assert status == 200
    status, headers, body = get(c, "/echo", "POST", b"upload")
    assert status == 403, body
    assert "request_denied" in proxy_status(headers) or \
        "request_not_allowed" in proxy_status(headers), headers
    status, headers, body = get(c, "/secret")
    assert status == 403 and "request_not_allowed" in proxy_status(headers), headers
    # A dot-segment does not climb out of the allowed path.
    status, headers, _ = get(c, "/echo/../secret")
    assert status == 403, headers
    c.close()
    assert [r["path"] for r in origin.requests] == ["/echo"]
    lines = p.wait_logs(match={"event": "end", "decision": "deny"}, count=3)
    assert {l["reason"] for l in lines} <= {"request_denied", "request_not_allowed"}, lines
    assert all(l["intercept"] is True and l["sni"] == HOST for l in lines), lines


def test_headers_allow_inside_https(isluice, origin):
    """Only the fields a rule lists (and those HTTP needs) reach the origin's host; a request
    with another is refused inside the session."""
    # http.client sends Accept-Encoding: identity of its own.
    p = isluice(rules=[{"host": HOST, "headers_allow": ["authorization", "accept-encoding"]}])
    c = connection(p, origin.port["good"])
    assert get(c, "/echo", headers={"Authorization": "Bearer k"})[0] == 200
    status, headers, _ = get(c, "/echo", headers={"X-Exfil": "data"})
    assert status == 403 and "request_denied" in proxy_status(headers), headers
    c.close()
    assert len(origin.requests) == 1


def test_a_ruled_host_needs_interception(isluice, origin):
    """Without interception a CONNECT to a host rules judge is refused: its requests could not
    be seen. Intercepted, it opens."""
    rules = [{"host": HOST, "methods": ["GET"]}]
    p = isluice(intercept=[], rules=rules)
    r = curl(p, "https://%s:%d/echo" % (HOST, origin.port["good"]), "--cacert", p.ca)
    assert r.returncode != 0
    assert origin.connections() == 0
    [line] = p.wait_logs(match={"method": "CONNECT", "event": "end"})
    assert line["reason"] == "request_rules_tunnel", line


def test_host_inside_must_name_the_tunnel(isluice, origin):
    p = isluice()
    c = connection(p, origin.port["good"])
    status, headers, _ = get(c, "/echo", headers={"Host": "other.test:%d" % origin.port["good"]})
    assert status == 403 and "tunnel_host_mismatch" in proxy_status(headers), headers
    assert origin.requests == []


def test_sni_must_name_the_tunnel(isluice, origin):
    """Fronting: CONNECT public.test, TLS naming other.test (which the agent may reach): sluice
    answers for the CONNECT target alone."""
    p = isluice()
    port = origin.port["good"]
    r = curl(p, "https://other.test:%d/echo" % port, "--cacert", p.ca,
             "--connect-to", "other.test:%d:%s:%d" % (port, HOST, port))
    assert r.returncode != 0
    assert origin.requests == []
    [line] = p.wait_logs(match={"method": "CONNECT", "event": "end"})
    assert line["reason"] == "sni_mismatch", line


# ---- the origin's certificate ------------------------------------------------------------------

@pytest.mark.parametrize("kind,reason", [("rogue", "tls_certificate_error"),
                                         ("wrong", "tls_certificate_error"),
                                         ("plain", "tls_protocol_error")])
def test_an_origin_that_fails_verification_gets_no_request(isluice, origin, kind, reason):
    p = isluice()
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    target = ("%s:%d" % (HOST, origin.port[kind])).encode()
    s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target))
    reply = s.recv(65536)
    s.close()
    assert reply.startswith(b"HTTP/1.1 502"), reply
    assert b"Proxy-Status: sluice; error=" + reason.encode() in reply, reply
    assert origin.requests == []
    [line] = p.wait_logs(match={"method": "CONNECT", "event": "end"})
    assert line["reason"] == reason and line["status"] == 502, line
    assert line["tls_error"].startswith("upstream: "), line


def test_a_later_connection_that_fails_verification_is_a_502_inside(isluice, origin, pki):
    """The first request finds the CONNECT's verified connection; the origin then closes it and
    changes its certificate: the next request's new connection fails verification, and that
    request alone is answered 502 inside the session."""
    p = isluice()
    c = connection(p, origin.port["good"])
    status, _, body = get(c, "/close")
    assert status == 200 and body == b"closing"
    origin.server["good"].ctx = tls_stub._context(*pki["rogue"])
    time.sleep(0.2)
    status, headers, body = get(c, "/echo")
    assert status == 502, body
    assert "tls_certificate_error" in proxy_status(headers), headers
    c.close()
    assert [r["path"] for r in origin.requests] == ["/close"]


# ---- never intercepted -----------------------------------------------------------------------

def test_never_intercept_passes_as_a_tunnel(isluice, origin, pki):
    p = isluice(intercept=["*.test", HOST], tls={"never_intercept": [HOST]})
    r = curl(p, "https://%s:%d/echo" % (HOST, origin.port["good"]), "--cacert", pki["ca"])
    assert r.returncode == 0, r.stderr  # the origin's own certificate reached curl
    [line] = p.wait_logs(match={"method": "CONNECT", "event": "end"})
    assert "intercept" not in line, line


# ---- WebSocket inside --------------------------------------------------------------------------

class TlsWsOrigin(WsOrigin):
    """test_websocket's origin behind TLS (the test CA's public.test certificate)."""

    def __init__(self, pki):
        self.ctx = tls_stub._context(*pki["good"])
        super().__init__()

    def _conn(self, conn):
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            return
        super()._conn(tls)


def test_websocket_relays_inside_intercepted_tls(isluice, pki):
    o = TlsWsOrigin(pki)
    try:
        p = isluice()
        ctx = ssl.create_default_context(cafile=p.ca)
        raw = open_tunnel(p.port, "%s:%d" % (HOST, o.port))
        s = ctx.wrap_socket(raw, server_hostname=HOST)
        s.sendall(b"GET /chat HTTP/1.1\r\nHost: %s:%d\r\nConnection: Upgrade\r\n"
                  b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Key: %s\r\n\r\n" % (HOST.encode(), o.port, KEY))
        data = b""
        while b"HELLO-FROM-ORIGIN" not in data:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        assert data.startswith(b"HTTP/1.1 101"), data
        assert WANT_ACCEPT in data
        blob = os.urandom(200000)
        s.sendall(blob)
        got = b""
        while len(got) < len(blob):
            chunk = s.recv(65536)
            assert chunk
            got += chunk
        assert got == blob
        s.close()
        [line] = p.wait_logs(match={"method": "GET", "event": "end"})
        assert line["status"] == 101 and line["intercept"] is True, line
        assert line["bytes_up"] >= len(blob), line
    finally:
        o.stop()


def test_websocket_through_an_https_route(sluice, pki):
    """A route to an https:// upstream relays a WebSocket too: the plain side to the agent, TLS
    to the upstream, after its 101."""
    o = TlsWsOrigin(pki)
    try:
        p = sluice({"workers": 1, "routes": [{"host": "ws.internal",
                                               "upstream": "https://%s:%d" % (HOST, o.port),
                                               "ca_file": pki["ca"]}]})
        s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        s.sendall(b"GET http://ws.internal/chat HTTP/1.1\r\nHost: ws.internal\r\n"
                  b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Key: %s\r\n\r\n" % KEY)
        data = b""
        while b"HELLO-FROM-ORIGIN" not in data:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        assert data.startswith(b"HTTP/1.1 101") and WANT_ACCEPT in data, data
        blob = os.urandom(100000)
        s.sendall(blob)
        got = b""
        while len(got) < len(blob):
            chunk = s.recv(65536)
            assert chunk
            got += chunk
        assert got == blob
        s.close()
        assert "Host: %s:%d" % (HOST, o.port) in o.heads[0], o.heads
    finally:
        o.stop()


# ---- limits --------------------------------------------------------------------------------------

def test_a_stalled_handshake_times_out(isluice, origin):
    """A client that sends its ClientHello and never finishes the handshake is closed at
    timeouts.tls_handshake."""
    p = isluice(timeouts={"tls_handshake": "1s"})
    s = open_tunnel(p.port, "%s:%d" % (HOST, origin.port["good"]))
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ssl.create_default_context(cafile=p.ca).wrap_bio(inc, out, server_hostname=HOST)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s.sendall(out.read())
    start = time.monotonic()
    s.settimeout(5)
    while True:  # the server's flight, then the close
        try:
            if not s.recv(65536):
                break
        except ConnectionResetError:
            break
    assert 0.5 < time.monotonic() - start < 4
    [line] = p.wait_logs(match={"method": "CONNECT", "event": "end"})
    assert line["reason"] == "tls_handshake_timeout", line
    assert origin.requests == []


@pytest.mark.skipif("ASAN_OPTIONS" in os.environ, reason="ASan's shadow memory makes RSS meaningless")
def test_idle_intercepted_connections_cost_little_memory(isluice, origin):
    """An idle intercepted connection keeps its TLS session state, not its record buffers: each
    one (with its parked, verified upstream connection) costs a few KiB."""
    from test_memory import rss_kib
    p = isluice()
    pid = p.proc.proc.pid
    conns = [connection(p, origin.port["good"])]
    assert get(conns[0], "/echo")[0] == 200
    before = rss_kib(pid)
    for _ in range(150):
        c = connection(p, origin.port["good"])
        assert get(c, "/echo")[0] == 200
        conns.append(c)
    per = (rss_kib(pid) - before) / 150.0
    for c in conns:
        c.close()
    print("KiB per idle intercepted connection: %.1f" % per)
    assert per < 48, "%.1f KiB per idle intercepted connection" % per


def test_metrics_count_interception_and_leaves(sluice, pki, origin, tmp_path):
    p = start_with_admin(sluice, {
        "workers": 1, "ports": ["*"], "allow": [HOST], "tunnel": {"opaque_ports": []},
        "tls": {"state_dir": str(tmp_path / "state"), "upstream_ca": pki["ca"]},
        "intercept": [HOST]})
    for _ in range(2):
        c = connection(p, origin.port["good"], cafile=str(tmp_path / "state" / "ca.pem"))
        assert get(c, "/echo")[0] == 200
        c.close()
    text = scrape(p)
    assert value(text, "sluice_tls_intercepted_total") == 2
    assert value(text, "sluice_tls_certs_minted_total") == 1
    assert value(text, "sluice_tls_cert_cache_hits_total") == 1
    assert value(text, "sluice_tls_certs_cached") == 1


# ---- configuration ----------------------------------------------------------------------------

def test_intercept_alone_creates_the_ca_in_the_state_dir(sluice, pki, origin, tmp_path):
    """An intercept list is enough: no tls: section beyond where the CA lives is needed for
    sluice to create it at start and answer with leaves it signs."""
    state = tmp_path / "state"
    p = sluice({"workers": 1, "ports": ["*"], "allow": [HOST], "tunnel": {"opaque_ports": []},
                "intercept": [HOST], "tls": {"state_dir": str(state), "upstream_ca": pki["ca"]}})
    assert (state / "ca.pem").exists()
    p.ca = str(state / "ca.pem")
    assert get(connection(p, origin.port["good"]), "/echo")[0] == 200


def test_start_refuses_an_upstream_ca_it_cannot_load(sluice_bin, tmp_path):
    cfg = tmp_path / "s.yaml"
    cfg.write_text("listen:\n  http: 127.0.0.1:1\nintercept: [public.test]\n"
                   "tls:\n  state_dir: %s\n  upstream_ca: /nonexistent/bundle.pem\n"
                   % (tmp_path / "state"))
    r = subprocess.run([sluice_bin, "-c", str(cfg)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r.stderr
    assert "tls.upstream_ca: " in r.stderr and "/nonexistent/bundle.pem" in r.stderr, r.stderr


def test_reload_that_first_asks_for_interception_is_refused(sluice, origin):
    """The CA is loaded at start only: a reload adding intercept: is refused, and the running
    policy (plain tunnels) stays."""
    from agents_util import config_text, reload
    p = sluice({"workers": 1, "ports": ["*"], "allow": [HOST], "tunnel": {"opaque_ports": []}})
    err = reload(p, config_text(p, {"intercept": [HOST]}), expect="policy .* stays")
    assert "asks for interception" in err, err
    c = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    c.sendall(b"CONNECT %s:%d HTTP/1.1\r\nHost: %s\r\n\r\n"
              % (HOST.encode(), origin.port["good"], HOST.encode()))
    assert c.recv(1024).startswith(b"HTTP/1.1 200"), "the old policy does not stand"
    c.close()


# ---- sluice jail ----------------------------------------------------------------------------

def test_jail_intercepts_and_the_command_trusts_the_ca(sluice_bin, dns, pki, origin, tmp_path):
    """sluice jail with intercept: the command's curl and Python verify sluice's leaves
    through the bundle the jail's variables name (no --cacert), its requests are judged inside
    TLS, and the bundle is gone when the jail ends."""
    from sluice_proc import BASE_CONFIG, merge, to_yaml
    from test_jail import jail
    cfg = tmp_path / "jail.yaml"
    cfg.write_text(to_yaml(merge(BASE_CONFIG, {
        "ports": ["*"], "allow": [HOST], "tunnel": {"opaque_ports": []},
        "intercept": [HOST], "rules": [{"host": HOST, "methods": ["GET"], "paths": ["/echo"]}],
        "tls": {"state_dir": str(tmp_path / "state"), "upstream_ca": pki["ca"]}})) + "\n")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    url = "https://%s:%d" % (HOST, origin.port["good"])
    script = ("curl -sS --max-time 8 %s/echo && echo && curl -sS -o /dev/null -w '%%{http_code}' "
              "%s/secret && echo && /usr/bin/python3 -c \"import urllib.request; "
              "print(urllib.request.urlopen('%s/echo?py=1', timeout=8).status)\"" %
              (url, url, url))
    r = jail(sluice_bin, str(cfg), ["sh", "-c", script], env={"TMPDIR": str(tmp)})
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert json.loads(out[0])["path"] == "/echo", out
    assert out[1] == "403" and out[2] == "200", out
    assert [q["path"] for q in origin.requests] == ["/echo", "/echo?py=1"]
    lines = [json.loads(l) for l in r.stderr.splitlines() if l.startswith("{")]
    assert [l["status"] for l in lines if l.get("method") == "GET"] == [200, 403, 200], lines
    assert all(l.get("intercept") for l in lines if l.get("method") == "GET"), lines
    assert list(tmp.iterdir()) == [], "the jail left its CA bundle behind"


# ---- real clients --------------------------------------------------------------------------------

@pytest.mark.skipif(not os.path.isdir(os.path.join(NODE_MODULES, "undici")),
                    reason="undici is not installed (make deps)")
def test_undici_through_interception(isluice, origin):
    p = isluice()
    script = """
const { ProxyAgent, request } = require('undici');
const fs = require('fs');
(async () => {
  const dispatcher = new ProxyAgent({uri: 'http://127.0.0.1:%d',
                                     requestTls: {ca: fs.readFileSync('%s')}});
  const out = [];
  for (const path of ['/echo?a=1', '/echo?a=2']) {
    const r = await request('https://public.test:%d' + path, { dispatcher });
    out.push([r.statusCode, JSON.parse(await r.body.text()).path]);
  }
  console.log(JSON.stringify(out));
  await dispatcher.close();
})().catch(e => { console.error(e); process.exit(1); });
""" % (p.port, p.ca, origin.port["good"])
    r = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, NODE_PATH=NODE_MODULES))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [[200, "/echo?a=1"], [200, "/echo?a=2"]]
    assert origin.connections(origin.port["good"]) == 1


def test_python_urllib_through_interception(isluice, origin):
    import urllib.request
    p = isluice()
    ctx = ssl.create_default_context(cafile=p.ca)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"https": "http://127.0.0.1:%d" % p.port}),
        urllib.request.HTTPSHandler(context=ctx))
    with opener.open("https://%s:%d/echo" % (HOST, origin.port["good"]), timeout=5) as r:
        assert r.status == 200 and json.loads(r.read())["path"] == "/echo"


def test_python_requests_with_requests_ca_bundle(isluice, origin):
    """requests, the way an agent's image runs it: HTTPS_PROXY and REQUESTS_CA_BUNDLE in the
    environment, nothing in the code."""
    p = isluice()
    script = """
import json, requests, sys
s = requests.Session()
out = [s.get(sys.argv[1] + "/echo?a=1", timeout=10).json()["path"],
       s.post(sys.argv[1] + "/echo", data=b"x" * 100000, timeout=10).json()["body_len"]]
print(json.dumps(out))
"""
    env = dict(os.environ, HTTPS_PROXY="http://127.0.0.1:%d" % p.port,
               REQUESTS_CA_BUNDLE=p.ca)
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    r = subprocess.run(["/usr/bin/python3", "-c", script,
                        "https://%s:%d" % (HOST, origin.port["good"])],
                       capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == ["/echo?a=1", 100000]
    lines = p.wait_logs(match=lambda e: e.get("intercept") and e.get("method") == "POST")
    assert lines and lines[0]["status"] == 200, lines


@pytest.mark.skipif(not os.path.isdir(os.path.join(NODE_MODULES, "undici")),
                    reason="undici is not installed (make deps)")
def test_node_trusts_the_ca_from_node_extra_ca_certs(isluice, origin):
    """Node given the CA only through NODE_EXTRA_CA_CERTS (no ca option in the code)."""
    p = isluice()
    script = """
const { ProxyAgent, request } = require('undici');
(async () => {
  const dispatcher = new ProxyAgent('http://127.0.0.1:%d');
  const r = await request('https://public.test:%d/echo?node=1', { dispatcher });
  console.log(JSON.stringify([r.statusCode, JSON.parse(await r.body.text()).path]));
  await dispatcher.close();
})().catch(e => { console.error(e); process.exit(1); });
""" % (p.port, origin.port["good"])
    env = dict(os.environ, NODE_PATH=NODE_MODULES, NODE_EXTRA_CA_CERTS=p.ca)
    r = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30,
                       env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [200, "/echo?node=1"]
    # and without it, Node refuses sluice's leaf: the CA is what it trusts
    env.pop("NODE_EXTRA_CA_CERTS")
    r = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30,
                       env=env)
    assert r.returncode != 0 and "UNABLE_TO_VERIFY_LEAF_SIGNATURE" in r.stderr, r.stderr


@pytest.mark.parametrize("proto", ["--http1.1", "--http2"])
def test_a_100_mb_body_both_ways_byte_exact(isluice, origin, tmp_path, proto):
    p = isluice()
    n = 100 * 1000 * 1000
    up = tmp_path / "up.bin"
    with open(up, "wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(n // len(block)):
            f.write(block)
        f.write(block[:n % len(block)])
    base = "https://%s:%d" % (HOST, origin.port["good"])
    r = subprocess.run(["curl", "-sS", "--max-time", "120", "--proxy",
                        "http://127.0.0.1:%d" % p.port, "--cacert", p.ca, proto,
                        "--data-binary", "@%s" % up, "-H", "Content-Type: application/octet-stream",
                        base + "/echo"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["body_len"] == n
    assert doc["body_sha256"] == hashlib.sha256(up.read_bytes()).hexdigest()
    down = tmp_path / "down.bin"
    r = subprocess.run(["curl", "-sS", "--max-time", "120", "--proxy",
                        "http://127.0.0.1:%d" % p.port, "--cacert", p.ca, proto, "-o", str(down),
                        base + "/big?n=%d" % n], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert down.stat().st_size == n
    assert hashlib.sha256(down.read_bytes()).hexdigest() == \
        hashlib.sha256(tls_stub.pattern(n)).hexdigest()


def test_key_update_mid_session(isluice, origin):
    """A TLS 1.3 client that sends KeyUpdate asking for one back (openssl s_client's K): sluice
    answers it inside the session, and the request that follows is served."""
    import time
    p = isluice()
    port = origin.port["good"]
    s = subprocess.Popen(["openssl", "s_client", "-proxy", "127.0.0.1:%d" % p.port, "-connect",
                          "%s:%d" % (HOST, port), "-servername", HOST, "-CAfile", p.ca,
                          "-alpn", "http/1.1", "-tls1_3", "-crlf"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(0.5)
        s.stdin.write("K\n")
        s.stdin.flush()
        time.sleep(0.3)
        s.stdin.write("GET /echo?after-key-update HTTP/1.1\nHost: %s:%d\nConnection: close\n\n"
                      % (HOST, port))
        s.stdin.flush()
        time.sleep(1.5)  # s_client ends at the end of its stdin, answer or not
        out, _ = s.communicate(timeout=10)
    finally:
        if s.poll() is None:
            s.kill()
    assert "KEYUPDATE" in out, out
    assert '"path": "/echo?after-key-update"' in out, out
