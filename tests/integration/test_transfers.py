"""Large and exact transfers: nothing lost, nothing added, in both directions, and tunnels."""

import hashlib
import json
import threading

import fake_servers
from checks import assert_log_line
from client import RawConn, connect_req, curl, curl_sha256, tunnel_roundtrip

MB100 = 100 * 1024 * 1024


def test_download_100mb_content_length(proxy):
    rc, err, digest, n, code = curl_sha256(proxy.url, "http://public.test/bytes/%d" % MB100)
    assert rc == 0, err
    assert code == 200
    assert n == MB100
    assert digest == fake_servers.pattern_sha256(MB100)


def test_download_100mb_chunked(proxy):
    rc, err, digest, n, code = curl_sha256(proxy.url, "http://public.test/chunked/%d" % MB100)
    assert rc == 0, err
    assert code == 200
    assert n == MB100
    assert digest == fake_servers.pattern_sha256(MB100)


def test_upload_100mb_content_length(proxy, tmp_path):
    path = tmp_path / "upload.bin"
    with open(path, "wb") as f:
        for c in fake_servers.pattern_chunks(MB100):
            f.write(c)
    rc, err, [t] = curl(proxy.url, "http://public.test/upload", ["-T", str(path)], timeout=60)
    assert rc == 0, err
    assert t.status == 200
    assert json.loads(t.body) == {"sha256": fake_servers.pattern_sha256(MB100), "length": MB100}


def test_upload_100mb_chunked(proxy):
    rc, err, [t] = curl(proxy.url, "http://public.test/upload",
                        ["-T", "-", "-H", "Transfer-Encoding: chunked"], timeout=60,
                        stdin_iter=fake_servers.pattern_chunks(MB100))
    assert rc == 0, err
    assert t.status == 200
    assert json.loads(t.body) == {"sha256": fake_servers.pattern_sha256(MB100), "length": MB100}


def test_pipelined_allowed_requests_answered_in_order(proxy):
    with RawConn(proxy.addr) as c:
        c.send(b"".join(b"GET http://public.test/bytes/%d HTTP/1.1\r\nHost: public.test\r\n\r\n"
                        % n for n in (100, 70000, 5)))
        for n in (100, 70000, 5):
            r = c.read_response()
            assert r.status == 200
            assert hashlib.sha256(r.body).hexdigest() == fake_servers.pattern_sha256(n)


# ---- CONNECT tunnels ----------------------------------------------------------------------

def test_connect_tunnel_echoes_1mb_and_half_closes(proxy):
    data = b"".join(fake_servers.pattern_chunks(1 << 20))
    with RawConn(proxy.addr, timeout=10) as c:
        c.send(connect_req("192.0.2.10:443"))
        r = c.read_response("CONNECT")
        assert r.status == 200, r
        got = tunnel_roundtrip(c, data)
    assert len(got) == len(data)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    [e] = proxy.wait_logs({"method": "CONNECT"})
    assert_log_line(e, decision="allow", reason="allowed", host="192.0.2.10", port=443,
                    ip="192.0.2.10")
    assert len(data) <= e["bytes_up"] <= len(data) + 4096, e
    assert len(data) <= e["bytes_down"] <= len(data) + 4096, e


def test_connect_tunnel_by_name(proxy):
    with RawConn(proxy.addr) as c:
        c.send(connect_req("public.test:443"))
        assert c.read_response("CONNECT").status == 200
        assert tunnel_roundtrip(c, b"ping\n" * 1000) == b"ping\n" * 1000


def test_connect_tunnel_to_ipv6_literal(proxy):
    with RawConn(proxy.addr) as c:
        c.send(connect_req("[2001:db8::10]:443"))
        assert c.read_response("CONNECT").status == 200
        assert tunnel_roundtrip(c, b"six") == b"six"


def test_connect_tunnel_bytes_sent_with_the_request_are_relayed(proxy):
    """Client bytes that arrive in the same segment as the CONNECT head belong to the tunnel."""
    with RawConn(proxy.addr) as c:
        c.send(connect_req("192.0.2.10:443") + b"early-bytes")
        assert c.read_response("CONNECT").status == 200
        assert tunnel_roundtrip(c, b"+late") == b"early-bytes+late"


def test_curl_proxytunnel_http(proxy):
    rc, err, [t] = curl(proxy.url, "http://public.test/echo", ["-p"])
    assert rc == 0, err
    assert t.status == 200
    assert json.loads(t.body)["path"] == "/echo"


def test_concurrent_clients_all_get_exact_bytes(proxy):
    """50 clients at once, keep-alive, mixed sizes and a tunnel each: no response is lost,
    mixed up between connections, or cut short."""
    errors = []

    def client(i):
        try:
            with RawConn(proxy.addr, timeout=20) as c:
                for n in (i * 1000 + 1, 70000 + i, 5):
                    c.send(b"GET http://public.test/bytes/%d HTTP/1.1\r\nHost: public.test\r\n"
                           b"\r\n" % n)
                    r = c.read_response()
                    if r.status != 200 or len(r.body) != n or \
                            hashlib.sha256(r.body).hexdigest() != fake_servers.pattern_sha256(n):
                        errors.append((i, n, r.status, len(r.body)))
            with RawConn(proxy.addr, timeout=20) as c:
                c.send(connect_req("192.0.2.10:443"))
                if c.read_response("CONNECT").status != 200:
                    errors.append((i, "connect"))
                    return
                data = b"%d-" % i * 5000
                if tunnel_roundtrip(c, data) != data:
                    errors.append((i, "tunnel"))
        except Exception as e:  # reported below with the client number
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:10]
