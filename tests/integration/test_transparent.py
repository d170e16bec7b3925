"""Issue 13 item 3: the transparent listeners, for agents that sluice's DNS answered with
sluice's own address (dns.answer: proxy) and that use no proxy variable. listen.transparent_tls
reads the ClientHello without terminating TLS, takes its SNI as the destination and the port the
client dialled as the port, judges it as a CONNECT, and relays the hello upstream first; a
refusal is a fatal TLS alert. listen.transparent_http takes origin-form requests named by Host.
A blocked case passes only if no canary counted a connection. Every test runs in the suite's
network namespace; sluice listens on 127.0.0.3 (no canary there)."""

import hashlib
import socket
import ssl
import struct
import subprocess
import time

import pytest

from sluice_proc import free_port
from test_dns_listener import ask, values

T_ADDR = "127.0.0.3"
ALERT_ACCESS_DENIED, ALERT_DECODE_ERROR, ALERT_UNRECOGNIZED_NAME = 49, 50, 112


def config(**extra):
    cfg = {"listen": {"transparent_tls": "%s:443" % T_ADDR,
                      "transparent_http": "%s:80" % T_ADDR},
           "workers": 1, "allow": ["public.test", "meta.test"]}
    cfg.update(extra)
    return cfg


@pytest.fixture
def tsluice(sluice):
    return sluice(config())


def client_hello(server_name):
    """A real ClientHello from Python's TLS stack (OpenSSL), SNI server_name (None: none)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def records(msg, cut):
    """The handshake message msg in two TLS records, cut at byte `cut` of it."""
    rec = lambda part: b"\x16\x03\x01" + struct.pack("!H", len(part)) + part  # noqa: E731
    return rec(msg[:cut]) + rec(msg[cut:])


def connect():
    return socket.create_connection((T_ADDR, 443), timeout=3)


def recv_exact(s, n):
    got = b""
    while len(got) < n:
        part = s.recv(n - len(got))
        if not part:
            break
        got += part
    return got


def refused_with_alert(data, description):
    """What sluice sends before closing: one fatal alert record, then end of stream."""
    with connect() as s:
        s.sendall(data)
        got = recv_exact(s, 64)
    assert got == bytes([21, 3, 3, 0, 2, 2, description]), got


def test_tls_hello_relayed_byte_exact(tsluice, origins):
    hello = client_hello("public.test")
    mark = tsluice.log_mark()
    before = origins.count("192.0.2.10", 443)
    with connect() as s:
        s.sendall(hello)
        # The echo server behind 192.0.2.10:443 sends back exactly what sluice relayed: the
        # hello first, and no "200 Connection established" before it.
        assert recv_exact(s, len(hello)) == hello
    assert origins.count("192.0.2.10", 443) == before + 1
    (line,) = tsluice.wait_logs(since=mark, match={"method": "TLS"})
    assert (line["host"], line["port"], line["decision"], line["ip"]) == \
        ("public.test", 443, "allow", "192.0.2.10")
    assert line["bytes_up"] == len(hello)


def test_tls_hello_split_over_writes_and_records(tsluice):
    msg = client_hello("public.test")[5:]
    data = records(msg, 40)
    with connect() as s:
        s.sendall(data[:30])
        time.sleep(0.2)
        s.sendall(data[30:])
        assert recv_exact(s, len(data)) == data
        s.sendall(b"after the hello")
        assert recv_exact(s, 15) == b"after the hello"


def test_tls_client_half_closes_after_hello(tsluice):
    """A client that sends its hello and shuts down its side before the upstream is even
    connected: the hello still goes upstream, then the half-close."""
    hello = client_hello("public.test")
    with connect() as s:
        s.sendall(hello)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            part = s.recv(65536)
            if not part:
                break
            got += part
    assert got == hello


def test_tls_hello_timeout_gets_alert(sluice):
    p = sluice(config(timeouts={"request_head": "500ms"}))
    mark = p.log_mark()
    with connect() as s:
        s.sendall(client_hello("public.test")[:20])
        assert recv_exact(s, 64) == bytes([21, 3, 3, 0, 2, 2, 80])
    (line,) = p.wait_logs(since=mark, match={"method": "TLS"})
    assert line["reason"] == "head_timeout"


def test_tls_openssl_s_client(tsluice, origins):
    """A real TLS client: the echo server is no TLS server, so the handshake fails, but the
    hello reached it through sluice, judged by its SNI."""
    mark = tsluice.log_mark()
    before = origins.count("192.0.2.10", 443)
    subprocess.run(["openssl", "s_client", "-connect", "%s:443" % T_ADDR,
                    "-servername", "public.test"], input=b"", capture_output=True, timeout=10)
    assert origins.count("192.0.2.10", 443) == before + 1
    (line,) = tsluice.wait_logs(since=mark, match={"method": "TLS"})
    assert (line["host"], line["decision"]) == ("public.test", "allow")


def test_tls_denied_sni_gets_access_denied(tsluice, canaries):
    before = canaries.snapshot()
    mark = tsluice.log_mark()
    refused_with_alert(client_hello("internal.test"), ALERT_ACCESS_DENIED)
    (line,) = tsluice.wait_logs(since=mark, match={"method": "TLS"})
    assert (line["host"], line["decision"], line["reason"]) == \
        ("internal.test", "deny", "domain_not_allowed")
    canaries.assert_unchanged(before)


def test_tls_sni_to_metadata_refused(tsluice, canaries):
    before = canaries.snapshot()
    mark = tsluice.log_mark()
    refused_with_alert(client_hello("meta.test"), ALERT_ACCESS_DENIED)
    (line,) = tsluice.wait_logs(since=mark, match={"method": "TLS"})
    assert (line["reason"], line["decision"]) == ("ip_metadata", "deny")
    assert canaries.count("169.254.169.254", 443) == 0
    canaries.assert_unchanged(before)


@pytest.mark.parametrize("case,reason,alert", [
    ("no_sni", "tls_no_sni", ALERT_UNRECOGNIZED_NAME),
    ("literal", "tls_sni_literal", ALERT_UNRECOGNIZED_NAME),
    ("http", "not_tls", ALERT_DECODE_ERROR),
    ("malformed", "tls_malformed", ALERT_DECODE_ERROR),
    ("too_large", "tls_hello_too_large", ALERT_DECODE_ERROR),
])
def test_tls_refusals_have_a_reason(tsluice, canaries, case, reason, alert):
    if case == "no_sni":
        data = client_hello(None)
    elif case == "literal":
        # Python sends no SNI for an address: swap the name for a literal of the same length.
        data = client_hello("public.test").replace(b"public.test", b"192.0.2.101")
    elif case == "http":
        data = b"GET / HTTP/1.1\r\nHost: public.test\r\n\r\n"
    elif case == "too_large":
        data = b"\x16\x03\x01\x40\x00\x01\x01\x00\x00" + b"\x00" * 100  # a 64 KiB hello
    else:
        data = b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00"  # a ServerHello type
    before = canaries.snapshot()
    mark = tsluice.log_mark()
    refused_with_alert(data, alert)
    (line,) = tsluice.wait_logs(since=mark, match={"method": "TLS"})
    assert (line["reason"], line["decision"]) == (reason, "error")
    if case == "literal":
        assert line["host"] == "192.0.2.101"
    canaries.assert_unchanged(before, also=[("192.0.2.10", 443)])


def test_tls_port_is_the_one_dialled(sluice, canaries):
    """The destination port is the listener's: 8443 is not in ports, whatever the SNI."""
    p = sluice(config(listen={"transparent_tls": "%s:8443" % T_ADDR}))
    before = canaries.snapshot()
    mark = p.log_mark()
    with socket.create_connection((T_ADDR, 8443), timeout=3) as s:
        s.sendall(client_hello("public.test"))
        assert recv_exact(s, 64) == bytes([21, 3, 3, 0, 2, 2, ALERT_ACCESS_DENIED])
    (line,) = p.wait_logs(since=mark, match={"method": "TLS"})
    assert (line["port"], line["reason"]) == (8443, "port_not_allowed")
    canaries.assert_unchanged(before, also=[("192.0.2.10", 443)])


def test_tls_unknown_agent_refused(sluice, canaries):
    p = sluice(config(agents=[{"name": "other", "match": {"source": ["10.9.9.9/32"]}}]))
    before = canaries.snapshot()
    mark = p.log_mark()
    refused_with_alert(client_hello("public.test"), ALERT_ACCESS_DENIED)
    (line,) = p.wait_logs(since=mark, match={"method": "TLS"})
    assert line["reason"] == "unknown_agent"
    canaries.assert_unchanged(before, also=[("192.0.2.10", 443)])


# ---- listen.transparent_http ------------------------------------------------------------

def curl(*args):
    r = subprocess.run(["curl", "--noproxy", "*", "-s", "-i", "--max-time", "5"] + list(args),
                       capture_output=True, timeout=10)
    return r.stdout.decode("utf-8", "replace")


def test_http_host_names_destination(tsluice, origins):
    mark = tsluice.log_mark()
    before = origins.hits("192.0.2.10")
    out = curl("http://%s/bytes/10" % T_ADDR, "-H", "Host: public.test")
    assert out.startswith("HTTP/1.1 200"), out
    assert origins.hits("192.0.2.10") > before
    (line,) = tsluice.wait_logs(since=mark)
    assert (line["method"], line["host"], line["port"], line["path"], line["decision"]) == \
        ("GET", "public.test", 80, "/bytes/10", "allow")


def test_http_denied_host_refused(tsluice, canaries):
    before = canaries.snapshot()
    out = curl("http://%s/" % T_ADDR, "-H", "Host: internal.test")
    assert out.startswith("HTTP/1.1 403"), out
    assert "Proxy-Status: sluice; error=http_request_denied" in out
    out = curl("http://%s/latest/meta-data/" % T_ADDR, "-H", "Host: meta.test")
    assert out.startswith("HTTP/1.1 403"), out
    out = curl("http://%s/latest/meta-data/" % T_ADDR, "-H", "Host: 169.254.169.254")
    assert out.startswith("HTTP/1.1 403"), out
    canaries.assert_unchanged(before)


def test_http_connect_refused(tsluice, canaries):
    before = canaries.snapshot()
    with socket.create_connection((T_ADDR, 80), timeout=3) as s:
        s.sendall(b"CONNECT public.test:443 HTTP/1.1\r\nHost: public.test:443\r\n\r\n")
        got = s.recv(4096)
    assert got.startswith(b"HTTP/1.1 400"), got
    canaries.assert_unchanged(before, also=[("192.0.2.10", 443)])


def test_http_keep_alive_each_request_judged(tsluice, canaries):
    mark = tsluice.log_mark()
    before = canaries.snapshot()
    with socket.create_connection((T_ADDR, 80), timeout=3) as s:
        f = s.makefile("rb")
        for host in ("public.test", "internal.test", "public.test"):
            s.sendall(b"GET /bytes/3 HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
            status = f.readline()
            length = 0
            while True:
                h = f.readline()
                if h in (b"\r\n", b""):
                    break
                if h.lower().startswith(b"content-length:"):
                    length = int(h.split(b":")[1])
            f.read(length)
            assert status.startswith(b"HTTP/1.1 200" if host == "public.test" else
                                     b"HTTP/1.1 403"), status
    lines = tsluice.wait_logs(since=mark, count=3)
    assert [(e["host"], e["decision"]) for e in lines] == \
        [("public.test", "allow"), ("internal.test", "deny"), ("public.test", "allow")]
    canaries.assert_unchanged(before)


def test_http_absolute_form_needs_agreeing_host(tsluice):
    with socket.create_connection((T_ADDR, 80), timeout=3) as s:
        s.sendall(b"GET http://public.test/bytes/2 HTTP/1.1\r\nHost: public.test\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
    with socket.create_connection((T_ADDR, 80), timeout=3) as s:
        s.sendall(b"GET http://public.test/bytes/2 HTTP/1.1\r\nHost: internal.test\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 400")


def test_http_proxy_credentials_ignored(sluice):
    """Identity on a transparent listener is the source address alone."""
    token = hashlib.sha256(b"s3cret").hexdigest()
    p = sluice(config(agents=[{"name": "coder", "match": {"token_sha256": token}}]))
    out = curl("http://%s/bytes/1" % T_ADDR, "-H", "Host: public.test",
               "-H", "Proxy-Authorization: Basic Y29kZXI6czNjcmV0")
    assert out.startswith("HTTP/1.1 407") or out.startswith("HTTP/1.1 403"), out
    assert p.alive()


# ---- dns.answer: proxy ------------------------------------------------------------------

def test_dns_proxy_answer_points_at_transparent_listener(sluice):
    port = free_port()
    p = sluice(config(listen={"dns": "127.0.0.1:%d" % port,
                              "transparent_tls": "%s:443" % T_ADDR,
                              "transparent_http": "%s:80" % T_ADDR},
                      dns={"answer": "proxy", "proxy_addresses": [T_ADDR]}))
    r = ask(port, "public.test")
    assert values(r, "A") == [T_ADDR]
    # ...and what the agent then sends there is judged by its SNI.
    hello = client_hello("public.test")
    with socket.create_connection((values(r, "A")[0], 443), timeout=3) as s:
        s.sendall(hello)
        assert recv_exact(s, len(hello)) == hello
    assert p.alive()


def test_dns_proxy_answer_without_proxy_addresses_is_the_listeners_own(sluice):
    """Without dns.proxy_addresses the answer is the address the query came to, over UDP and
    over TCP alike."""
    port = free_port()
    p = sluice(config(listen={"dns": "127.0.0.1:%d" % port,
                              "transparent_http": "%s:80" % T_ADDR},
                      dns={"answer": "proxy"}))
    for tcp in (False, True):
        r = ask(port, "public.test", tcp=tcp)
        assert values(r, "A") == ["127.0.0.1"], (tcp, r)
    assert p.alive()
