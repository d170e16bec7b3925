"""Allowed plain-HTTP requests: what the origin sees and what the client gets back."""

import hashlib
import json

import fake_servers
from checks import assert_log_line
from client import RawConn, curl, get, request


def _names(echo):
    return [k.lower() for k, _ in echo["headers"]]


def test_absolute_form_reaches_origin_in_origin_form(proxy, origins):
    n0 = origins.requests("192.0.2.10")
    rc, err, [t] = curl(proxy.url, "http://public.test/echo?a=1&b=2",
                        ["--proxy-user", "agent:secret"])
    assert rc == 0, err
    assert t.status == 200
    echo = json.loads(t.body)
    assert echo["method"] == "GET"
    assert echo["path"] == "/echo?a=1&b=2"
    assert echo["server"] == "192.0.2.10:80"
    assert ["Host", "public.test"] in [[k.title(), v] for k, v in echo["headers"]]
    names = _names(echo)
    assert names.count("host") == 1
    assert "proxy-authorization" not in names
    assert "proxy-connection" not in names
    assert origins.requests("192.0.2.10") == n0 + 1


def test_hop_by_hop_request_headers_are_not_forwarded(proxy):
    r = request(proxy.addr, (
        "GET http://public.test/echo HTTP/1.1\r\n"
        "Host: public.test\r\n"
        "X-First: 1\r\n"
        "Connection: keep-alive, X-Secret-Hop\r\n"
        "X-Secret-Hop: must-not-leak\r\n"
        "Keep-Alive: timeout=5\r\n"
        "TE: trailers\r\n"
        "Upgrade: websocket\r\n"
        "Proxy-Connection: keep-alive\r\n"
        "Proxy-Authorization: Basic YWdlbnQ6c2VjcmV0\r\n"
        "X-Dup: a\r\n"
        "X-Middle: 2\r\n"
        "X-Dup: b\r\n"
        "X-Last: 3\r\n\r\n").encode())
    assert r.status == 200, r
    echo = r.json()
    names = _names(echo)
    for hop in ("connection", "x-secret-hop", "keep-alive", "te", "upgrade", "proxy-connection",
                "proxy-authorization", "transfer-encoding"):
        assert hop not in names, "%s forwarded: %r" % (hop, echo["headers"])
    assert "must-not-leak" not in json.dumps(echo)
    # End-to-end fields keep their order, duplicates included.
    e2e = [(k.lower(), v) for k, v in echo["headers"] if k.lower().startswith("x-")]
    assert e2e == [("x-first", "1"), ("x-dup", "a"), ("x-middle", "2"), ("x-dup", "b"),
                   ("x-last", "3")]


def test_hop_by_hop_response_headers_are_not_returned(proxy):
    r = get(proxy.addr, "http://public.test/hop")
    assert r.status == 200 and r.body == b"hop\n"
    names = [k.lower() for k, _ in r.headers]
    assert "x-resp-hop" not in names, r.headers
    assert "keep-alive" not in names, r.headers
    assert r.header("X-End") == "1"


def test_curl_reuses_client_connection_for_two_requests(proxy):
    rc, err, ts = curl(proxy.url, ["http://public.test/echo", "http://public.test/bytes/1000"])
    assert rc == 0, err
    assert [t.status for t in ts] == [200, 200]
    assert [t.num_connects for t in ts] == [1, 0], \
        "client connection not kept alive: %r" % [t.info for t in ts]
    assert hashlib.sha256(ts[1].body).hexdigest() == fake_servers.pattern_sha256(1000)
    lines = proxy.wait_logs({"host": "public.test"}, count=2)
    assert len(lines) == 2, "expected 2 log lines: %r" % proxy.logs()
    assert len({e["client"] for e in lines}) == 1, lines
    for e in lines:
        assert_log_line(e, decision="allow", reason="allowed", status=200, method="GET")


def test_head_response_has_no_body_and_connection_stays_usable(proxy):
    with RawConn(proxy.addr) as c:
        c.send(b"HEAD http://public.test/bytes/5000 HTTP/1.1\r\nHost: public.test\r\n\r\n")
        r = c.read_response("HEAD")
        assert r.status == 200
        assert r.header("Content-Length") == "5000"
        c.send(b"GET http://public.test/bytes/10 HTTP/1.1\r\nHost: public.test\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == fake_servers.PATTERN[:10]


def test_204_response_has_no_body_and_connection_stays_usable(proxy):
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test/status/204 HTTP/1.1\r\nHost: public.test\r\n\r\n")
        r = c.read_response()
        assert r.status == 204
        c.send(b"GET http://public.test/bytes/10 HTTP/1.1\r\nHost: public.test\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == fake_servers.PATTERN[:10]


def test_origin_error_status_is_relayed(proxy):
    r = get(proxy.addr, "http://public.test/status/404")
    assert r.status == 404 and r.body == b"status 404\n"


def test_close_delimited_response_is_relayed_whole(proxy):
    n = 300000
    r = get(proxy.addr, "http://public.test/eof/%d" % n)
    assert r.status == 200
    assert hashlib.sha256(r.body).hexdigest() == fake_servers.pattern_sha256(n)


def test_request_body_with_content_length_is_forwarded(proxy):
    body = b"0123456789" * 1000
    r = get(proxy.addr, "http://public.test/echo", method="POST", body=body)
    assert r.status == 200
    assert r.json()["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_chunked_request_body_is_forwarded(proxy):
    r = request(proxy.addr, b"POST http://public.test/upload HTTP/1.1\r\nHost: public.test\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n"
                            b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n")
    assert r.status == 200, r
    assert r.json() == {"sha256": hashlib.sha256(b"hello world").hexdigest(), "length": 11}


def test_http10_client_is_served(proxy):
    r = request(proxy.addr, b"GET http://public.test/echo HTTP/1.0\r\nHost: public.test\r\n\r\n")
    assert r.status == 200
    assert r.json()["path"] == "/echo"


def test_host_is_normalised_case_and_trailing_dot(proxy, origins):
    n0 = origins.requests("192.0.2.10")
    r = get(proxy.addr, "http://PUBLIC.Test./echo")
    assert r.status == 200, r
    assert origins.requests("192.0.2.10") == n0 + 1


def test_explicit_default_port_is_allowed(proxy):
    r = get(proxy.addr, "http://public.test:80/echo")
    assert r.status == 200, r


def test_cname_to_public_name_is_followed(proxy):
    r = get(proxy.addr, "http://cname-public.test/echo")
    assert r.status == 200, r
    assert r.json()["server"] == "192.0.2.10:80"


def test_aaaa_only_name_reaches_ipv6_origin(proxy, origins):
    n0 = origins.requests("2001:db8::10")
    rc, err, [t] = curl(proxy.url, "http://public6.test/echo")
    assert rc == 0, err
    assert t.status == 200
    assert json.loads(t.body)["server"] == "2001:db8::10:80"
    assert origins.requests("2001:db8::10") == n0 + 1


def test_ipv6_literal_public_destination(proxy):
    rc, err, [t] = curl(proxy.url, "http://[2001:db8::10]/echo")
    assert rc == 0, err
    assert t.status == 200
    assert json.loads(t.body)["server"] == "2001:db8::10:80"


def test_ipv4_literal_public_destination(proxy):
    r = get(proxy.addr, "http://198.51.100.10/echo")
    assert r.status == 200, r
    assert r.json()["server"] == "198.51.100.10:80"


def test_ipv6_listen_address(sluice):
    p = sluice(listen_hosts=("127.0.0.1", "::1"))
    for i in (0, 1):
        rc, err, [t] = curl(p.url_of(i), "http://public.test/echo")
        assert rc == 0, err
        assert t.status == 200
    lines = p.wait_logs({"host": "public.test"}, count=2)
    assert sorted(e["client"].startswith(("[::1]", "::1")) for e in lines) == [False, True], lines


def test_allowed_port_from_config(sluice):
    p = sluice(config={"ports": [80, 443, 8080]})
    r = get(p.addr, "http://public.test:8080/echo")
    assert r.status == 200, r
    assert r.json()["server"] == "192.0.2.10:8080"


def test_port_range_and_star_syntax(sluice):
    p = sluice(config={"ports": ["8000-8100"]})
    assert get(p.addr, "http://public.test:8080/echo").status == 200
    assert get(p.addr, "http://public.test/echo").status == 403
    p2 = sluice(config={"ports": ["*"]})
    assert get(p2.addr, "http://public.test:8080/echo").status == 200
