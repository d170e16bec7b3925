"""Routes to an https:// upstream: sluice originates TLS to the route's upstream and verifies
its certificate against the system store plus the route's ca_file. An agent speaks plain
http://api.internal/... to sluice; the internal service (tls_stub.py, 10.0.0.7, resolved as
secure.internal through the harness DNS) only speaks TLS with a certificate from a throwaway
CA. Bodies of every framing must cross the TLS layer intact in both directions, injected
credentials must arrive over TLS, and a certificate sluice cannot verify -- unknown CA, wrong
name, no TLS at all -- ends in 502 upstream_tls with OpenSSL's reason for the agent."""

import hashlib
import os
import subprocess
import time

import pytest

import tls_stub
from agents_util import SourceConn, build_request, config_text, get_from, reload
from checks import assert_log_line, assert_refused
from sluice_proc import free_port, to_yaml
from test_admin import scrape, start_with_admin, value, wait_metric
from tls_stub import (GOOD_PORT, PLAIN_PORT, TLS_IP, TLS_NAME, WRONG_NAME_PORT, TLSStub,
                      chunked_body, pattern)

SECRET = "Bearer tls-route-key-9d2a"
ROUTE_HOST = "api.internal"
BASE = "http://%s" % ROUTE_HOST


def route(port=GOOD_PORT, ca_file=None, **extra):
    r = {"host": ROUTE_HOST, "upstream": "https://%s:%d" % (TLS_NAME, port),
         "headers": {"set": {"Authorization": {"env": "TLS_ROUTE_KEY"}, "X-From": "sluice"},
                     "remove": ["Cookie"]}}
    if ca_file is not None:
        r["ca_file"] = ca_file
    r.update(extra)
    return r


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return tls_stub.make_pki(tmp_path_factory.mktemp("route-pki"))


@pytest.fixture(scope="session")
def _tls_stub_session(pki, harness):
    stub = TLSStub(pki).start()
    yield stub
    stub.stop()


@pytest.fixture
def tls(_tls_stub_session, dns):
    """The TLS stand-in, counters cleared, secure.internal (and other.internal) resolving to
    it through the harness DNS."""
    dns.set(TLS_NAME, a=[TLS_IP])
    dns.set(tls_stub.OTHER_NAME, a=[TLS_IP])
    _tls_stub_session.reset()
    return _tls_stub_session


@pytest.fixture
def start(sluice, monkeypatch):
    monkeypatch.setenv("TLS_ROUTE_KEY", SECRET)

    def go(rt, **config):
        return sluice(config=dict(config, routes=[rt]))
    return go


def _sha(b):
    return hashlib.sha256(b).hexdigest()


def _assert_tls_refusal(p, r, stub, want_in_details):
    ps = assert_refused(r, 502, "tls_certificate_error")
    details = ps.get("details", "")
    assert "TLS to the route upstream failed" in details, ps
    assert want_in_details in details, "Proxy-Status details lack %r: %r" % (want_in_details,
                                                                             ps)
    assert SECRET not in r.text() and "tls-route-key" not in details
    [e] = p.wait_logs({"host": ROUTE_HOST})
    assert_log_line(e, decision="error", reason="upstream_tls", status=502)
    assert stub.requests == [], "a request reached an upstream that failed TLS: %r" % (
        stub.requests,)
    return ps


# ---- (1) a verified TLS route serves bodies of every framing ------------------------------

def test_tls_route_delivers_headers_and_bodies(start, tls, pki):
    p = start(route(ca_file=pki["ca"]))

    r = get_from(p.addr, BASE + "/echo?x=1",
                 extra_headers=[("Cookie", "session=agent"), ("Authorization", "agent-guess"),
                                ("X-Keep", "kept")])
    assert r.status == 200, r
    doc = r.json()
    hdrs = doc["headers"]

    def vals(name):
        return [v for k, v in hdrs if k.lower() == name.lower()]

    assert doc["path"] == "/echo?x=1", doc
    assert vals("Host") == ["%s:%d" % (TLS_NAME, GOOD_PORT)], hdrs
    assert vals("Authorization") == [SECRET], hdrs
    assert vals("X-From") == ["sluice"], hdrs
    assert vals("X-Keep") == ["kept"], hdrs
    assert vals("Cookie") == [] and vals("Proxy-Authorization") == [], hdrs
    [rec] = tls.requests
    assert rec["tls"] and rec["port"] == GOOD_PORT, rec
    hs = tls.handshakes
    assert hs and all(h["error"] is None for h in hs), hs
    assert hs[0]["sni"] == TLS_NAME, "sluice sent SNI %r, expected %r" % (hs[0]["sni"], TLS_NAME)

    # 5 MB by Content-Length: many TLS records, more than one socket buffer.
    r = get_from(p.addr, BASE + "/big", timeout=10)
    assert r.status == 200, r
    assert r.header("Content-Length") == str(tls_stub.BIG_DEFAULT), r.headers
    assert len(r.body) == tls_stub.BIG_DEFAULT
    assert r.body == pattern(tls_stub.BIG_DEFAULT), "the 5 MB body arrived altered"

    # Chunked, with chunks of 1 byte up to 512 KiB straddling TLS record boundaries.
    r = get_from(p.addr, BASE + "/chunked", timeout=10)
    assert r.status == 200, r
    want = chunked_body()
    assert len(r.body) == len(want), (len(r.body), len(want))
    assert r.body == want, "the chunked body arrived altered"

    lines = p.wait_logs({"host": ROUTE_HOST}, count=3)
    assert len(lines) == 3, lines
    for e in lines:
        assert_log_line(e, decision="allow", status=200, method="GET")
    assert lines[1]["bytes_down"] >= tls_stub.BIG_DEFAULT, lines[1]
    assert lines[2]["bytes_down"] >= len(want), lines[2]
    assert SECRET not in p.proc.stdout_bytes().decode("utf-8", "replace")


# ---- (2)-(4) certificates sluice must refuse ----------------------------------------------

def test_tls_route_without_ca_file_fails_verification(start, tls):
    p = start(route())
    r = get_from(p.addr, BASE + "/echo")
    _assert_tls_refusal(p, r, tls, "certificate verify failed")
    assert tls.connections(GOOD_PORT) >= 1, "sluice never connected to the upstream"


def test_tls_route_certificate_for_another_name_is_refused(start, tls, pki):
    p = start(route(port=WRONG_NAME_PORT, ca_file=pki["ca"]))
    r = get_from(p.addr, BASE + "/echo")
    _assert_tls_refusal(p, r, tls, "hostname mismatch")
    assert tls.connections(WRONG_NAME_PORT) >= 1


def test_tls_route_to_a_plain_http_port_is_refused(start, tls, pki):
    p = start(route(port=PLAIN_PORT, ca_file=pki["ca"]))
    r = get_from(p.addr, BASE + "/echo")
    ps = _assert_tls_refusal(p, r, tls, "TLS to the route upstream failed: ")
    # OpenSSL's reason follows (its wording varies by version: "wrong version number", ...);
    # no certificate was ever presented, so it must not claim a verification failure.
    why = ps["details"].split("TLS to the route upstream failed: ", 1)[1].strip()
    assert why and "unknown" not in why.lower(), ps
    assert "certificate verify failed" not in why, ps
    assert tls.connections(PLAIN_PORT) >= 1


# ---- (5) keep-alive on the client side ----------------------------------------------------

def test_tls_route_keepalive_client_connection(start, tls, pki):
    p = start(route(ca_file=pki["ca"]))
    with SourceConn(p.addr) as c:
        for i in range(3):
            c.send(build_request(BASE + "/echo?i=%d" % i))
            r = c.read_response()
            assert r.status == 200, (i, r)
            assert r.json()["path"] == "/echo?i=%d" % i, r
            assert (r.header("Connection") or "").lower() != "close", r.headers
        # A large body after small ones, still on the same client connection.
        c.send(build_request(BASE + "/big?n=1000000"))
        r = c.read_response()
        assert r.status == 200 and r.body == pattern(1000000), r
        c.send(build_request(BASE + "/echo?i=last"))
        r = c.read_response()
        assert r.status == 200 and r.json()["path"] == "/echo?i=last", r
    assert [rec["path"] for rec in tls.requests] == \
        ["/echo?i=0", "/echo?i=1", "/echo?i=2", "/big?n=1000000", "/echo?i=last"]
    assert all(rec["tls"] and tls.header_values(rec, "Authorization") == [SECRET]
               for rec in tls.requests)
    lines = p.wait_logs({"host": ROUTE_HOST}, count=5)
    assert [e["status"] for e in lines] == [200] * 5, lines
    hs = tls.handshakes
    assert hs and all(h["error"] is None and h["sni"] == TLS_NAME for h in hs), hs


# ---- (6) request bodies cross TLS intact --------------------------------------------------

@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_tls_route_post_body_arrives_intact(start, tls, pki, framing):
    p = start(route(ca_file=pki["ca"]))
    body = os.urandom(2 * 1000 * 1000)
    with SourceConn(p.addr, timeout=10) as c:
        if framing == "content-length":
            c.send(build_request(BASE + "/echo", method="POST", body=body,
                                 extra_headers=[("Content-Type", "application/octet-stream")]))
        else:
            head = build_request(BASE + "/echo", method="POST",
                                 extra_headers=[("Transfer-Encoding", "chunked")])
            parts = [head]
            off = 0
            for size in (1, 16384, 16385, 65536, 1 << 20):
                parts.append(b"%x\r\n" % size + body[off:off + size] + b"\r\n")
                off += size
            rest = len(body) - off
            parts.append(b"%x\r\n" % rest + body[off:] + b"\r\n0\r\n\r\n")
            c.send(b"".join(parts))
        r = c.read_final_response("POST")
    assert r.status == 200, r
    doc = r.json()
    assert doc["method"] == "POST"
    assert doc["body_len"] == len(body), doc
    assert doc["body_sha256"] == _sha(body), "the POST body arrived altered"
    [rec] = tls.requests
    assert rec["tls"] and tls.header_values(rec, "Authorization") == [SECRET]
    [e] = p.wait_logs({"host": ROUTE_HOST})
    assert_log_line(e, decision="allow", status=200, method="POST")
    assert e["bytes_up"] >= len(body), e


# ---- (7) upstream TLS connections are pooled, per verified name ---------------------------

def test_tls_route_upstream_connection_is_reused_across_clients(sluice, monkeypatch, tls, pki):
    """Three agents' connections, one after another: one TCP connection and one handshake to
    the upstream serve them all (one worker: each worker keeps its own pool)."""
    monkeypatch.setenv("TLS_ROUTE_KEY", SECRET)
    p = start_with_admin(sluice, {"workers": 1, "routes": [route(ca_file=pki["ca"])]})
    for i in range(3):
        r = get_from(p.addr, BASE + "/echo?i=%d" % i)
        assert r.status == 200 and r.json()["path"] == "/echo?i=%d" % i, r
    assert [rec["path"] for rec in tls.requests] == ["/echo?i=0", "/echo?i=1", "/echo?i=2"]
    assert tls.connections(GOOD_PORT) == 1, "a new upstream connection per request"
    assert len(tls.handshakes) == 1, tls.handshakes
    samples = scrape(p)
    assert value(samples, "sluice_upstream_connections_reused_total") == 2, samples
    assert value(samples, "sluice_upstream_connections_idle") == 1, samples


def test_pooled_tls_connection_is_not_reused_for_another_name(sluice, monkeypatch, tls, pki):
    """A connection verified for secure.internal must not serve a route whose upstream is
    other.internal at the same address and port: that route's own handshake would fail (the
    certificate does not name it), so reusing the first one would skip a certificate check."""
    monkeypatch.setenv("TLS_ROUTE_KEY", SECRET)
    other = route(ca_file=pki["ca"], host="other-api.internal",
                  upstream="https://%s:%d" % (tls_stub.OTHER_NAME, GOOD_PORT))
    p = sluice(config={"workers": 1, "routes": [route(ca_file=pki["ca"]), other]})
    r = get_from(p.addr, BASE + "/echo")
    assert r.status == 200, r
    r = get_from(p.addr, "http://other-api.internal/echo")
    ps = assert_refused(r, 502, "tls_certificate_error")
    assert "hostname mismatch" in ps.get("details", ""), ps
    assert [rec["path"] for rec in tls.requests] == ["/echo"], tls.requests
    assert tls.connections(GOOD_PORT) == 2, "the second route did not make its own connection"


def test_tls_connection_closed_by_upstream_is_not_reused(start, tls, pki):
    """The upstream closes its end after a keep-alive answer: the pooled connection is dropped
    (or, had the request raced the close, sent again), never answered from a dead session."""
    p = start(route(ca_file=pki["ca"]), workers=1)
    r = get_from(p.addr, BASE + "/close")
    assert r.status == 200 and r.body == b"closing", r
    time.sleep(0.2)  # the close reaches sluice's idle connection
    r = get_from(p.addr, BASE + "/echo?after")
    assert r.status == 200 and r.json()["path"] == "/echo?after", r
    assert tls.connections(GOOD_PORT) == 2, tls.connections(GOOD_PORT)
    assert len(tls.handshakes) == 2, tls.handshakes
    lines = p.wait_logs({"host": ROUTE_HOST}, count=2)
    assert [e["status"] for e in lines] == [200, 200], lines


# ---- (8) CA files are read with the configuration: at start, at check, at every reload ------

@pytest.fixture(scope="session")
def other_pki(tmp_path_factory):
    """A second throwaway CA: it did not sign the stand-in's certificate."""
    return tls_stub.make_pki(tmp_path_factory.mktemp("route-pki-other"))


def test_ca_file_that_cannot_be_loaded_refuses_the_config(sluice_bin, tmp_path):
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("this is not PEM\n")
    cfg = tmp_path / "sluice.yaml"
    cfg.write_text(to_yaml({"listen": {"http": "127.0.0.1:%d" % free_port()},
                            "routes": [route(), route(ca_file=str(bad), host="two.internal")]})
                   + "\n")
    r = subprocess.run([sluice_bin, "check", "-c", str(cfg)], capture_output=True, text=True,
                       timeout=10, env=dict(os.environ, TLS_ROUTE_KEY=SECRET))
    assert r.returncode == 1, r
    assert "routes[1].ca_file: cannot load CA file %s" % bad in r.stderr, r.stderr
    r = subprocess.run([sluice_bin, "-c", str(cfg)], capture_output=True, text=True,
                       timeout=10, env=dict(os.environ, TLS_ROUTE_KEY=SECRET))
    assert r.returncode == 1, r
    assert "routes[1].ca_file: cannot load CA file" in r.stderr, r.stderr
    # A file that is not there: the reason in the system's words, not OpenSSL's silence.
    missing = tmp_path / "gone" / "ca.pem"
    cfg.write_text(to_yaml({"listen": {"http": "127.0.0.1:%d" % free_port()},
                            "routes": [route(ca_file=str(missing))]}) + "\n")
    r = subprocess.run([sluice_bin, "check", "-c", str(cfg)], capture_output=True, text=True,
                       timeout=10, env=dict(os.environ, TLS_ROUTE_KEY=SECRET))
    assert r.returncode == 1, r
    assert "routes[0].ca_file: cannot read CA file %s: No such file or directory" % missing \
        in r.stderr, r.stderr


def test_reload_rereads_the_ca_file(start, tls, pki, other_pki, tmp_path):
    """The CA file changes in place (a rotated Secret or ConfigMap) and sluice reloads: the new
    trust applies at once, to new connections and pooled ones alike, and going back works."""
    ca = tmp_path / "route-ca.pem"
    ca.write_bytes(open(pki["ca"], "rb").read())
    p = start(route(ca_file=str(ca)), workers=1)
    r = get_from(p.addr, BASE + "/echo?before")
    assert r.status == 200, r
    ca.write_bytes(open(other_pki["ca"], "rb").read())
    reload(p, config_text(p))
    r = get_from(p.addr, BASE + "/echo?rotated")
    ps = assert_refused(r, 502, "tls_certificate_error")
    assert "certificate verify failed" in ps.get("details", ""), ps
    ca.write_bytes(open(pki["ca"], "rb").read())
    reload(p, config_text(p))
    r = get_from(p.addr, BASE + "/echo?back")
    assert r.status == 200, r
    assert [rec["path"] for rec in tls.requests] == ["/echo?before", "/echo?back"]


def test_reload_closes_parked_tls_connections(sluice, monkeypatch, tls, pki):
    """A reload re-reads the CA files, so the parked sessions verified with the old ones are
    closed at once rather than left for their idle time (their key no longer matches)."""
    monkeypatch.setenv("TLS_ROUTE_KEY", SECRET)
    p = start_with_admin(sluice, {"workers": 1, "routes": [route(ca_file=pki["ca"])]})
    assert get_from(p.addr, BASE + "/echo").status == 200
    assert wait_metric(p, "sluice_upstream_connections_idle", 1) == 1
    reload(p, config_text(p))
    assert wait_metric(p, "sluice_upstream_connections_idle", 0) == 0


def test_reload_with_a_broken_ca_file_keeps_the_running_policy(start, tls, pki, tmp_path):
    ca = tmp_path / "route-ca.pem"
    ca.write_bytes(open(pki["ca"], "rb").read())
    p = start(route(ca_file=str(ca)), workers=1)
    assert get_from(p.addr, BASE + "/echo?before").status == 200
    ca.write_text("truncated in a rotation\n")
    out = reload(p, config_text(p), expect="refused")
    assert "routes[0].ca_file: cannot load CA file" in out, out
    assert "running policy (generation 1) stays" in out, out
    r = get_from(p.addr, BASE + "/echo?after")
    assert r.status == 200, r
