"""Self-tests of the harness: if these fail, the sluice tests prove nothing."""

import hashlib
import socket
import time

import pytest

import dns_server
import fake_servers
import netns
from client import RawConn
from sluice_proc import merge, to_yaml, DELETE


def test_namespace_is_isolated():
    assert netns.check_isolated() is None
    assert [n for _, n in socket.if_nameindex()] == ["lo"]


# ---- DNS ----------------------------------------------------------------------------------

def q(name, qtype="A", **kw):
    return dns_server.query(name, qtype, **kw)


def addrs(resp, rtype):
    return [a[3] for a in resp["answers"] if a[1] == rtype]


def test_dns_answers_a_and_aaaa(dns):
    assert addrs(q("public.test"), "A") == ["192.0.2.10"]
    assert addrs(q("public6.test", "AAAA"), "AAAA") == ["2001:db8::10"]
    both_a, both_aaaa = q("both.test"), q("both.test", "AAAA")
    assert addrs(both_a, "A") == ["192.0.2.10"]
    assert addrs(both_aaaa, "AAAA") == ["2001:db8::10"]
    assert addrs(q("mixed.test"), "A") == ["192.0.2.10", "10.0.0.1"]
    assert addrs(q("loop6.test", "AAAA"), "AAAA") == ["::1"]
    assert addrs(q("ula.test", "AAAA"), "AAAA") == ["fd00::1"]


def test_dns_nodata_for_missing_type(dns):
    r = q("public6.test", "A")
    assert r["rcode"] == 0 and r["answers"] == []


def test_dns_matches_case_insensitively(dns):
    assert addrs(q("PuBlIc.TeSt"), "A") == ["192.0.2.10"]
    assert addrs(q("public.test."), "A") == ["192.0.2.10"]


def test_dns_cname_chain(dns):
    r = q("cname-chain.test")
    assert [(a[1], a[3]) for a in r["answers"]] == [
        ("CNAME", "cname-meta.test"), ("CNAME", "meta.test"), ("A", "169.254.169.254")]
    r = q("cname-meta.test")
    assert [(a[1], a[3]) for a in r["answers"]] == [("CNAME", "meta.test"),
                                                     ("A", "169.254.169.254")]


def test_dns_rcodes(dns):
    assert q("nx.test")["rcode"] == dns_server.RCODE_NXDOMAIN
    assert q("unknown-name.test")["rcode"] == dns_server.RCODE_NXDOMAIN
    assert q("fail.test")["rcode"] == dns_server.RCODE_SERVFAIL


def test_dns_slow_name_never_answers(dns):
    with pytest.raises(socket.timeout):
        q("slow.test", timeout=0.3)
    with pytest.raises(socket.timeout):
        q("slow.test", tcp=True, timeout=0.3)


def test_dns_ttl_and_rotation(dns):
    seen = [addrs(q("rebind.test"), "A")[0] for _ in range(4)]
    assert seen == ["192.0.2.10", "169.254.169.254", "192.0.2.10", "169.254.169.254"]
    assert all(a[2] == 0 for a in q("rebind.test")["answers"])
    assert q("public.test")["answers"][0][2] == 60


def test_dns_tcp(dns):
    assert addrs(q("public.test", tcp=True), "A") == ["192.0.2.10"]


def test_dns_table_changes_at_runtime_and_counts(dns):
    dns.set("new.test", a=["198.51.100.10"], ttl=0)
    assert addrs(q("new.test"), "A") == ["198.51.100.10"]
    assert q("new.test")["answers"][0][2] == 0
    q("new.test", "AAAA")
    assert dns.queries("new.test") == 3
    assert dns.queries("NEW.test", "A") == 2
    assert dns.queries("new.test", "AAAA") == 1
    dns.reset()
    assert q("new.test")["rcode"] == dns_server.RCODE_NXDOMAIN


def test_dns_delay(dns):
    dns.set("late.test", a=["192.0.2.10"], delay=0.3)
    t = time.monotonic()
    assert addrs(q("late.test", timeout=2), "A") == ["192.0.2.10"]
    assert time.monotonic() - t >= 0.25


# ---- canaries -----------------------------------------------------------------------------

@pytest.mark.parametrize("ip", ["169.254.169.254", "10.0.0.1", "127.0.0.2", "::1", "fd00::1"])
def test_canary_counts_connections(canaries, ip):
    before = canaries.snapshot()
    with RawConn((ip, 80)) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
    assert r.status == 200 and r.body == b"INTERNAL-SECRET"
    assert canaries.touched(before) == {(ip, 80): 1}
    with pytest.raises(AssertionError):
        canaries.assert_unchanged(before)


def test_canary_counts_connection_without_request(canaries):
    before = canaries.snapshot()
    s = socket.create_connection(("10.0.0.1", 443))
    s.close()
    assert canaries.touched(before) == {("10.0.0.1", 443): 1}


def test_ipv4_mapped_connect_reaches_ipv4_canary(canaries):
    """Why the IPv4-mapped spellings matter: an AF_INET6 socket reaches the IPv4 canary."""
    before = canaries.snapshot()
    s = socket.create_connection(("::ffff:169.254.169.254", 8080))
    s.close()
    assert canaries.touched(before) == {("169.254.169.254", 8080): 1}


# ---- origins ------------------------------------------------------------------------------

def test_origin_echo_and_keepalive(origins):
    n0 = origins.count("192.0.2.10")
    with RawConn(("192.0.2.10", 80)) as c:
        c.send(b"GET /echo?x=1 HTTP/1.1\r\nHost: public.test\r\nX-A: 1\r\nX-B: 2\r\n\r\n")
        r = c.read_response()
        assert r.status == 200
        j = r.json()
        assert j["path"] == "/echo?x=1"
        assert j["headers"] == [["Host", "public.test"], ["X-A", "1"], ["X-B", "2"]]
        assert j["server"] == "192.0.2.10:80"
        c.send(b"POST /echo HTTP/1.1\r\nHost: public.test\r\nContent-Length: 5\r\n\r\nhello")
        j = c.read_response().json()
        assert j["body_sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert origins.count("192.0.2.10") == n0 + 1


def test_origin_ipv6_and_ports(origins):
    for ip, port in (("2001:db8::10", 80), ("2001:db8::10", 8080), ("198.51.100.10", 8080)):
        with RawConn((ip, port)) as c:
            c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.read_response().json()["server"] == "%s:%d" % (ip, port)


def test_origin_bytes_chunked_eof_head_204(origins):
    n = 200000
    want = fake_servers.pattern_sha256(n)
    with RawConn(("192.0.2.10", 80)) as c:
        for kind in ("bytes", "chunked"):
            c.send(b"GET /%s/%d HTTP/1.1\r\nHost: x\r\n\r\n" % (kind.encode(), n))
            r = c.read_response()
            assert hashlib.sha256(r.body).hexdigest() == want
        c.send(b"HEAD /bytes/%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
        r = c.read_response("HEAD")
        assert r.header("Content-Length") == str(n) and r.body == b""
        c.send(b"GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.read_response().status == 204
        c.send(b"GET /eof/1000 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert hashlib.sha256(r.body).hexdigest() == fake_servers.pattern_sha256(1000)


def test_origin_upload_chunked():
    body = b"x" * 100000
    with RawConn(("192.0.2.10", 80)) as c:
        c.send(b"PUT /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:]))
        j = c.read_response().json()
    assert j == {"sha256": hashlib.sha256(body).hexdigest(), "length": len(body)}


def test_echo_server_half_close():
    data = bytes(range(256)) * 4096
    s = socket.create_connection(("192.0.2.10", 443))
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        got += c
    s.close()
    assert got == data


def test_refused_address_refuses():
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("192.0.2.11", 80), timeout=1)


def test_blackhole_connect_times_out(harness):
    assert harness.blackhole_ok, "could not fill the black hole's accept queue"
    with pytest.raises(socket.timeout):
        socket.create_connection(("192.0.2.12", 80), timeout=0.5)


def test_settle_sees_pending_connections(harness, canaries):
    before = canaries.snapshot()
    socks = [socket.create_connection(("127.0.0.2", 8080)) for _ in range(5)]
    assert canaries.touched(before) == {("127.0.0.2", 8080): 5}
    for s in socks:
        s.close()


# ---- config writer ------------------------------------------------------------------------

def test_yaml_writer_merges_and_emits():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    out = merge(base, {"a": {"c": ["y"]}, "d": DELETE, "e": {"f": "500ms"}})
    assert out == {"a": {"b": 1, "c": ["y"]}, "e": {"f": "500ms"}}
    assert to_yaml(out) == 'a:\n  b: 1\n  c: ["y"]\ne:\n  f: "500ms"'
