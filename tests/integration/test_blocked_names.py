"""Names that resolve to internal addresses, DNS rebinding, and every request of a keep-alive
connection or a pipeline being judged on its own. Each blocked case asserts the refusal AND
that no canary (and, where a public answer was also given, no public origin) was reached."""

import pytest

from checks import assert_log_line, assert_refused
from client import RawConn, connect_req, curl, get

INTERNAL_NAMES = ["meta.test", "internal.test", "loop.test", "self.test", "loop6.test",
                  "ula.test", "mapped6.test", "cname-meta.test", "cname-chain.test",
                  "azure.test", "doc3.test", "META.Test", "meta.test."]


@pytest.mark.parametrize("name", INTERNAL_NAMES)
def test_name_resolving_to_internal_address_is_denied(proxy, canaries, name):
    before = canaries.snapshot()
    r = get(proxy.addr, "http://%s/latest/meta-data/" % name)
    assert_refused(r, 403, "destination_ip_prohibited", host=name.rstrip(".").lower())
    assert b"INTERNAL-SECRET" not in r.body
    canaries.assert_unchanged(before)


@pytest.mark.parametrize("name", INTERNAL_NAMES)
def test_connect_to_name_resolving_to_internal_address_is_denied(proxy, canaries, name):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(connect_req(name + ":443"))
        r = c.read_response("CONNECT")
    assert_refused(r, 403, "destination_ip_prohibited")
    canaries.assert_unchanged(before)


@pytest.mark.parametrize("name", ["meta.test", "loop6.test", "cname-meta.test"])
def test_curl_to_name_resolving_to_internal_address_is_denied(proxy, canaries, name):
    before = canaries.snapshot()
    rc, err, [t] = curl(proxy.url, "http://%s/" % name)
    assert rc == 0, err
    assert t.status == 403
    assert b"INTERNAL-SECRET" not in t.body
    canaries.assert_unchanged(before)


def test_denial_of_resolved_name_is_logged_with_the_address(proxy, canaries):
    before = canaries.snapshot()
    r = get(proxy.addr, "http://meta.test/")
    assert_refused(r, 403, "destination_ip_prohibited", host="meta.test")
    canaries.assert_unchanged(before)
    [e] = proxy.wait_logs({"host": "meta.test"})
    assert e["rule"] and e["rule"] in r.text(), "body does not name the rule %r" % e["rule"]
    assert_log_line(e, decision="deny", reason={"ip_metadata", "ip_non_global"}, status=403,
                    ip="169.254.169.254", port=80)


@pytest.mark.parametrize("name", ["mixed.test", "mixed6.test"])
def test_name_with_one_public_and_one_internal_answer_is_denied(proxy, canaries, origins, name):
    """Every answer is checked: one bad address taints the name, and the good origin is not
    contacted either."""
    before = canaries.snapshot()
    r = get(proxy.addr, "http://%s/echo" % name)
    assert_refused(r, 403, "destination_ip_prohibited", host=name)
    canaries.assert_unchanged(before, also=[("192.0.2.10", 80)])


def test_mixed_answer_denied_for_connect_too(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(connect_req("mixed.test:443"))
        r = c.read_response("CONNECT")
    assert_refused(r, 403, "destination_ip_prohibited")
    canaries.assert_unchanged(before, also=[("192.0.2.10", 443)])


def test_dns_rebinding_never_reaches_internal_address(proxy, canaries, dns):
    """rebind.test answers 192.0.2.10 and 169.254.169.254 on alternate queries, TTL 0. A proxy
    that resolves once to check and again to connect would hit the canary."""
    before = canaries.snapshot()
    statuses = []
    for _ in range(12):
        r = get(proxy.addr, "http://rebind.test/echo")
        statuses.append(r.status)
        assert b"INTERNAL-SECRET" not in r.body
    c = RawConn(proxy.addr)  # and on keep-alive connections, reconnecting when closed
    try:
        for _ in range(12):
            c.send(b"GET http://rebind.test/echo HTTP/1.1\r\nHost: rebind.test\r\n\r\n")
            r = c.read_response()
            statuses.append(r.status)
            assert b"INTERNAL-SECRET" not in r.body
            if r.header("Connection", "").lower() == "close":
                c.close()
                c = RawConn(proxy.addr)
    finally:
        c.close()
    assert set(statuses) <= {200, 403}, statuses
    # Both answers were seen through sluice, so the alternation really was exercised.
    assert {200, 403} <= set(statuses), statuses
    assert dns.queries("rebind.test", "A") >= 2
    canaries.assert_unchanged(before)


def test_dns_rebinding_via_connect_never_reaches_internal_address(proxy, canaries):
    before = canaries.snapshot()
    for _ in range(10):
        with RawConn(proxy.addr) as c:
            c.send(connect_req("rebind.test:80"))
            r = c.read_response("CONNECT")
            assert r.status in (200, 403), r
    canaries.assert_unchanged(before)


def test_ttl0_answers_are_not_cached(proxy, dns):
    """TTL 0 means ask again: the switch to an internal answer is seen at once."""
    dns.set("flip.test", a=["192.0.2.10"], ttl=0)
    assert get(proxy.addr, "http://flip.test/echo").status == 200
    dns.set("flip.test", a=["10.0.0.1"], ttl=0)
    assert get(proxy.addr, "http://flip.test/echo").status == 403


# ---- every request of a connection is judged ----------------------------------------------

def test_keepalive_second_request_to_blocked_host_is_denied(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n")
        assert c.read_response().status == 200
        c.send(b"GET http://meta.test/ HTTP/1.1\r\nHost: meta.test\r\n\r\n")
        r = c.read_response()
    assert_refused(r, 403, "destination_ip_prohibited", host="meta.test")
    canaries.assert_unchanged(before)


def test_keepalive_second_request_to_blocked_literal_is_denied(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://192.0.2.10/echo HTTP/1.1\r\nHost: 192.0.2.10\r\n\r\n")
        assert c.read_response().status == 200
        c.send(b"GET http://169.254.169.254/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n")
        r = c.read_response()
    assert_refused(r, 403, "destination_ip_prohibited")
    canaries.assert_unchanged(before)


def test_keepalive_request_after_denial_is_judged_too(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://meta.test/ HTTP/1.1\r\nHost: meta.test\r\n\r\n")
        assert c.read_response().status == 403
        try:
            c.send(b"GET http://internal.test/ HTTP/1.1\r\nHost: internal.test\r\n\r\n")
            r = c.read_response()
            assert r.status == 403, r
        except (ConnectionError, OSError):
            pass  # closing after a denial is fine
    canaries.assert_unchanged(before)


def test_pipelined_allowed_then_blocked_in_one_write(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n"
               b"GET http://meta.test/ HTTP/1.1\r\nHost: meta.test\r\n\r\n")
        first = c.read_response()
        second = c.read_response()
    assert first.status == 200
    assert first.json()["path"] == "/echo"
    assert_refused(second, 403, "destination_ip_prohibited", host="meta.test")
    canaries.assert_unchanged(before)


def test_pipelined_request_hidden_in_body_is_judged(proxy, canaries):
    """A body with Content-Length is body; the request after it is judged on its own."""
    before = canaries.snapshot()
    smuggled = b"GET http://meta.test/ HTTP/1.1\r\nHost: meta.test\r\n\r\n"
    with RawConn(proxy.addr) as c:
        c.send(b"POST http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n"
               b"Content-Length: 4\r\n\r\nabcd" + smuggled)
        first = c.read_response()
        second = c.read_response()
    assert first.status == 200 and first.json()["body_length"] == 4
    assert_refused(second, 403, "destination_ip_prohibited")
    canaries.assert_unchanged(before)


def test_pipelined_allowed_then_connect_to_blocked(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n"
               + connect_req("169.254.169.254:443"))
        assert c.read_response().status == 200
        r = c.read_response("CONNECT")
    assert_refused(r, 403, "destination_ip_prohibited")
    canaries.assert_unchanged(before)


def test_host_header_disagreeing_with_uri_is_refused(proxy, canaries, origins):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: meta.test\r\n\r\n")
        r = c.read_response()
        assert_refused(r, 400, "http_request_error")
        assert c.is_closed()
    canaries.assert_unchanged(before, also=[("192.0.2.10", 80)])


def test_host_header_disagreeing_with_uri_on_second_request_is_refused(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n")
        assert c.read_response().status == 200
        c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n")
        r = c.read_response()
        assert_refused(r, 400, "http_request_error")
        assert c.is_closed()
    canaries.assert_unchanged(before)


def test_duplicate_host_headers_are_refused(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n"
               b"Host: meta.test\r\n\r\n")
        r = c.read_response()
        assert_refused(r, 400, "http_request_error")
        assert c.is_closed()
    canaries.assert_unchanged(before, also=[("192.0.2.10", 80)])


def test_connect_to_port_22_is_denied(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(connect_req("192.0.2.10:22"))
        r = c.read_response("CONNECT")
    assert_refused(r, 403, "http_request_denied")
    canaries.assert_unchanged(before, also=[("192.0.2.10", 22)])
    [e] = proxy.wait_logs({"method": "CONNECT"})
    assert_log_line(e, decision="deny", reason="port_not_allowed", port=22, status=403)


def test_connect_by_name_to_port_22_is_denied(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(connect_req("public.test:22"))
        r = c.read_response("CONNECT")
    assert_refused(r, 403, "http_request_denied")
    canaries.assert_unchanged(before, also=[("192.0.2.10", 22)])


# ---- loopback names (RFC 6761 §6.3) -------------------------------------------------------

LOOPBACK_NAMES = ["localhost", "localhost.", "LocalHost", "api.localhost", "a.b.localhost."]


@pytest.mark.parametrize("name", LOOPBACK_NAMES)
@pytest.mark.parametrize("how", ["http", "connect"])
def test_loopback_name_is_refused_before_any_dns_query(sluice, dns, canaries, name, how):
    """Even with a DNS record pointing it at a public origin and an agent in open mode: the
    name means this machine, so no query is sent and nothing is reached."""
    dns.set(name.rstrip(".").lower(), a=["192.0.2.10"])
    p = sluice(config={"mode": "open"})
    before = canaries.snapshot()
    if how == "http":
        r = get(p.addr, "http://%s/" % name)
    else:
        with RawConn(p.addr) as c:
            c.send(connect_req(name + ":443"))
            r = c.read_response("CONNECT")
    assert_refused(r, 403, "destination_ip_prohibited")
    assert "loopback_name" in r.header("Proxy-Status"), r
    body = r.text()
    assert "loopback name (localhost)" in body and "will not succeed" in body, body
    assert "retrying later may succeed" not in body, body
    assert dns.queries(name) == 0, "the loopback name went to DNS"
    canaries.assert_unchanged(before, also=[("192.0.2.10", 80), ("192.0.2.10", 443)])
    [e] = p.wait_logs({"reason": "loopback_name"})
    assert_log_line(e, decision="deny", status=403, host=name.rstrip(".").lower())


def test_names_that_only_look_like_localhost_are_ordinary(proxy, dns, origins):
    dns.set("localhost.public.test", a=["192.0.2.10"])
    dns.set("notlocalhost", a=["192.0.2.10"])
    assert get(proxy.addr, "http://localhost.public.test/echo").status == 200
    assert get(proxy.addr, "http://notlocalhost/echo").status == 200


def test_dot_local_names_are_ordinary_names(proxy, dns, canaries):
    """.local (mDNS, RFC 6762) is not special: the name goes to the configured DNS and its
    answers are judged like any other (a printer on the LAN is a private address)."""
    dns.set("printer.local", a=["10.0.0.1"])
    before = canaries.snapshot()
    r = get(proxy.addr, "http://printer.local/")
    assert_refused(r, 403, "destination_ip_prohibited")
    assert dns.queries("printer.local"), "the .local name was not resolved"
    canaries.assert_unchanged(before)
