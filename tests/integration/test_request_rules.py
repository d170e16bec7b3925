"""Issue 14, item 4: rules: judge a plain HTTP request by method, path and header names on the
hosts they name. An allowed method and path are served, and the origin sees the path in the
normal form the rules judged; a method or path no rule allows, a deny rule, a denied header are
refused with zero requests at the origin; `..`, `%2e%2e`, `%2f` and double encoding cannot talk
a path rule around; a tunnel to a ruled host is refused (its requests would be hidden); report
mode forwards and reports; an agent's rules replace the top level's."""

import pytest

from client import get, parse_proxy_status, request

ORIGIN = "192.0.2.10"  # public.test

RULES = [
    {"host": "public.test", "methods": ["GET", "HEAD"], "paths": ["/repos/our-org/**", "/user"],
     "headers_deny": ["X-HTTP-Method-Override"]},
    {"host": "public.test", "paths": ["/gists/**"], "action": "deny"},
    {"host": "public.test", "methods": ["POST"], "paths": ["/repos/our-org/*/issues"],
     "max_request_body": "16"},
]


@pytest.fixture
def ruled(sluice):
    def start(**extra):
        cfg = {"rules": RULES}
        cfg.update(extra)
        return sluice(cfg)
    return start


def from_origin(r):
    """The response came from the origin (which answers 404 for paths it does not know)."""
    return r.header("Server") == "fake-origin/1"


def served(origins, before):
    return origins.server(ORIGIN).requests[before:]


def call(p, path, method="GET", headers=(), body=None, host="public.test"):
    return get(("127.0.0.1", p.port), "http://%s%s" % (host, path), method=method,
               extra_headers=headers, body=body)


def test_allowed_method_and_path_are_served(ruled, origins):
    p = ruled()
    before = len(origins.server(ORIGIN).requests)
    for path in ("/repos/our-org/sluice", "/repos/our-org", "/user", "/repos/our-org/a/b/c"):
        r = call(p, path)
        assert from_origin(r), (path, r)
    r = call(p, "/repos/our-org/sluice/issues", method="POST", body=b"{}")
    assert from_origin(r), r
    assert [x[1] for x in served(origins, before)] == [
        "/repos/our-org/sluice", "/repos/our-org", "/user", "/repos/our-org/a/b/c",
        "/repos/our-org/sluice/issues"]
    lines = p.wait_logs({"event": "end"}, count=5)
    assert lines[0]["rule"] == "rules[0]: allow", lines[0]
    assert lines[4]["rule"] == "rules[2]: allow", lines[4]


@pytest.mark.parametrize("method,path,reason,rule", [
    ("POST", "/repos/our-org/sluice", "request_not_allowed",
     "rules: none allows POST /repos/our-org/sluice"),
    ("DELETE", "/user", "request_not_allowed", "rules: none allows DELETE /user"),
    ("GET", "/repos/other-org/x", "request_not_allowed",
     "rules: none allows GET /repos/other-org/x"),
    ("GET", "/gists/123", "request_denied", "rules[1]: deny"),
    ("POST", "/gists/new", "request_denied", "rules[1]: deny"),
    ("GET", "/repos/our-org/../other-org/x", "request_not_allowed",
     "rules: none allows GET /repos/other-org/x"),
    ("GET", "/repos/our-org/%2e%2e/other-org/x", "request_not_allowed",
     "rules: none allows GET /repos/other-org/x"),
    ("GET", "/repos/our-org/x/%2E%2E/%2e%2E/../gists/1", "request_denied", "rules[1]: deny"),
])
def test_method_and_path_no_rule_allows_are_refused(ruled, origins, method, path, reason, rule):
    p = ruled()
    before = origins.hits(ORIGIN)
    r = call(p, path, method=method, body=b"x" if method == "POST" else None)
    assert r.status == 403, r
    assert parse_proxy_status(r.header("Proxy-Status"))["details"].startswith(reason), r
    assert origins.hits(ORIGIN) == before
    [line] = p.wait_logs({"event": "end"})
    assert line["reason"] == reason and line["rule"] == rule, line


@pytest.mark.parametrize("path", [
    "/repos/our-org%2f..%2fother-org/x",     # encoded slash
    "/repos/our-org/%252e%252e/other-org",   # double encoding
    "/repos/our-org/%25%32%65%25%32%65/x",   # double encoding, split across escapes
    "/repos/our-org/%00/x",                  # encoded NUL
    "/repos/our-org/../../../etc/passwd",    # above the root
    "/repos/our-org/%2",                     # malformed escape
])
def test_path_tricks_are_refused(ruled, origins, path):
    p = ruled()
    before = origins.hits(ORIGIN)
    r = call(p, path)
    assert r.status == 400, r
    assert origins.hits(ORIGIN) == before


def test_origin_gets_the_normal_form_it_was_judged_in(ruled, origins):
    p = ruled()
    before = len(origins.server(ORIGIN).requests)
    r = call(p, "/repos/our-org/%7Eme/./x/../y?q=%2F..%2F")
    assert from_origin(r), r
    assert [x[1] for x in served(origins, before)] == ["/repos/our-org/~me/y?q=%2F..%2F"]


def test_a_denied_header_refuses_the_request(ruled, origins):
    p = ruled()
    before = origins.hits(ORIGIN)
    r = call(p, "/user", method="GET", headers=[("x-http-method-override", "DELETE")])
    assert r.status == 403, r
    assert origins.hits(ORIGIN) == before
    [line] = p.wait_logs({"event": "end"})
    assert line["rule"] == "rules[0]: header x-http-method-override denied", line


def test_hosts_without_rules_are_untouched(ruled, origins):
    p = ruled(allow=["public.test", "public2.test"])
    before = len(origins.server("198.51.100.10").requests)
    r = call(p, "/any/%2F/path", host="public2.test", method="DELETE")
    assert from_origin(r), r
    assert [x[1] for x in origins.server("198.51.100.10").requests[before:]] == \
        ["/any/%2F/path"]


def test_a_tunnel_to_a_ruled_host_is_refused(ruled, origins):
    p = ruled()
    r = request(("127.0.0.1", p.port),
                b"CONNECT public.test:443 HTTP/1.1\r\nHost: public.test:443\r\n\r\n",
                "CONNECT")
    assert r.status == 403, r
    [line] = p.wait_logs({"event": "end"})
    assert line["reason"] == "request_rules_tunnel", line


def test_report_mode_forwards_and_reports(ruled, origins):
    p = ruled(mode="report")
    before = len(origins.server(ORIGIN).requests)
    r = call(p, "/gists/1", method="POST", body=b"x")
    assert from_origin(r), r
    assert len(served(origins, before)) == 1
    [line] = p.wait_logs({"event": "end"})
    assert line["decision"] == "report" and line["reason"] == "request_denied", line


def test_an_agents_rules_replace_the_top_levels(ruled, origins):
    p = ruled(agents=[{"name": "default", "rules": [
        {"host": "public.test", "methods": ["GET"], "paths": ["/only/**"]}]}])
    assert from_origin(call(p, "/only/this"))
    assert call(p, "/user").status == 403  # the top level's rules no longer apply


def test_a_rules_body_limit_replaces_the_agents(ruled, origins):
    p = ruled(max_request_body="1MiB")
    before = origins.hits(ORIGIN)
    r = call(p, "/repos/our-org/sluice/issues", method="POST", body=b"x" * 17)
    assert r.status == 413, r
    assert origins.hits(ORIGIN) == before
    [line] = p.wait_logs({"event": "end"})
    assert line["rule"] == "rules[2].max_request_body: 16 bytes", line
    # A chunked body is held to it as it streams.
    chunked = b"POST http://public.test/repos/our-org/sluice/issues HTTP/1.1\r\n" \
        b"Host: public.test\r\nTransfer-Encoding: chunked\r\n\r\n" \
        b"20\r\n" + b"y" * 32 + b"\r\n0\r\n\r\n"
    r = request(("127.0.0.1", p.port), chunked, "POST")
    assert r.status == 413, r
    assert from_origin(call(p, "/repos/our-org/sluice/issues", method="POST", body=b"x" * 16))

