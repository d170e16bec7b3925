"""Routes (issue 4): the only way to reach an internal service. An agent calls
http://search.internal/search?q=...&format=json through sluice and gets SearXNG's JSON from a
stand-in on an internal address (searx_stub.py, 10.0.0.5:8080) that direct requests to the same
address can never reach; sluice injects credentials the agent never sees and drops the headers
the route removes."""

import json

import pytest

from agents_util import (SRC_CODER, SRC_RESEARCH, SourceConn, assert_policy_denial,
                         build_request, curl_as, get_from, sha256_hex)
from checks import assert_log_line
from client import connect_req
from searx_stub import SEARX_IP, searx, wait_idle  # noqa: F401 (searx is a fixture)

SECRET = "Bearer searx-key-5f0c1e9a"
GUIDANCE = "Ask #platform for access."

ROUTE = {"host": "search.internal", "upstream": "http://%s:8080" % SEARX_IP,
         "agents": ["research", "observer"],
         "rewrite": {"from": "/", "to": "/"},
         "headers": {"set": {"Authorization": {"env": "SEARX_KEY"}, "X-From": "sluice"},
                     "remove": ["Cookie"]}}

AGENTS = [
    {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]},
     "allow": ["public.test"]},
    {"name": "coder", "match": {"source": [SRC_CODER + "/32"]}, "allow": ["public.test"]},
    # listed on the route, but in report mode: it still may use the route
    {"name": "observer", "match": {"source": ["127.0.0.6/32"]}, "mode": "report"},
    # report and open agents that are NOT listed on the route
    {"name": "reporter", "match": {"source": ["127.0.0.7/32"]}, "mode": "report"},
    {"name": "opener", "match": {"source": ["127.0.0.8/32"]}, "mode": "open"},
]
SRC_OBSERVER, SRC_REPORTER, SRC_OPENER = "127.0.0.6", "127.0.0.7", "127.0.0.8"

SEARCH_URL = "http://search.internal/search?q=sluice&format=json"


@pytest.fixture
def routed(sluice, monkeypatch, searx):  # noqa: F811
    monkeypatch.setenv("SEARX_KEY", SECRET)
    return sluice(config={"agents": AGENTS, "routes": [ROUTE], "guidance": GUIDANCE,
                          "ports": ["*"]})


def _no_secret(p, *texts):
    assert SECRET not in p.proc.stdout_bytes().decode("utf-8", "replace"), "secret in the log"
    assert "searx-key" not in p.proc.stderr(), "secret on stderr"
    for t in texts:
        assert "searx-key" not in t, "the agent saw the injected secret: %r" % t[:500]


def test_research_agent_gets_searxng_json_through_the_route(routed, searx):  # noqa: F811
    p = routed
    rc, err, t = curl_as(p, SEARCH_URL, source=SRC_RESEARCH,
                         args=["-H", "Cookie: session=agent-cookie"])
    assert rc == 0, err
    assert t.status == 200, t.body
    assert (t.header("Content-Type") or "").startswith("application/json")
    doc = json.loads(t.body)
    assert doc["query"] == "sluice"
    assert doc["number_of_results"] == len(doc["results"]) > 0
    for res in doc["results"]:
        for k in ("url", "title", "content", "engine", "score", "category"):
            assert k in res, (k, res)
        assert "sluice" in res["title"]
    for k in ("answers", "suggestions", "infoboxes"):
        assert doc[k] == []

    # What the stand-in received: the rewritten path, the upstream's Host, the injected
    # headers, no Cookie, no Proxy-Authorization.
    [rec] = searx.requests
    assert rec["port"] == 8080
    assert rec["path"] == "/search?q=sluice&format=json", rec
    assert searx.header_values(rec, "Host") == ["%s:8080" % SEARX_IP], rec["headers"]
    assert searx.header_values(rec, "Authorization") == [SECRET], rec["headers"]
    assert searx.header_values(rec, "X-From") == ["sluice"], rec["headers"]
    assert searx.header_values(rec, "Cookie") == [], rec["headers"]
    assert searx.header_values(rec, "Proxy-Authorization") == [], rec["headers"]

    [e] = p.wait_logs({"host": "search.internal"})
    assert_log_line(e, decision="allow", status=200, method="GET", agent="research")
    _no_secret(p, t.head.decode("latin-1"), t.body.decode("utf-8", "replace"))


def test_route_host_matches_case_insensitively_and_with_trailing_dot(routed, searx):  # noqa
    for url in ("http://SEARCH.Internal/search?q=a&format=json",
                "http://search.internal./search?q=b&format=json"):
        r = get_from(routed.addr, url, SRC_RESEARCH)
        assert r.status == 200, (url, r)
    assert [rec["path"] for rec in searx.requests] == ["/search?q=a&format=json",
                                                       "/search?q=b&format=json"]


def test_agent_sent_values_of_set_headers_are_replaced(routed, searx):  # noqa: F811
    r = get_from(routed.addr, SEARCH_URL, SRC_RESEARCH, extra_headers=[
        ("Authorization", "Bearer agent-guess"), ("X-From", "agent"),
        ("Cookie", "a=1"), ("cookie", "b=2"), ("X-Keep", "kept")])
    assert r.status == 200, r
    [rec] = searx.requests
    assert searx.header_values(rec, "Authorization") == [SECRET], rec["headers"]
    assert searx.header_values(rec, "X-From") == ["sluice"], rec["headers"]
    assert searx.header_values(rec, "Cookie") == [], rec["headers"]
    assert searx.header_values(rec, "X-Keep") == ["kept"], rec["headers"]


def test_proxy_credentials_are_not_forwarded_on_a_route(sluice, searx, monkeypatch):  # noqa
    monkeypatch.setenv("SEARX_KEY", SECRET)
    token = "route-token-77"
    p = sluice(config={"agents": [{"name": "research",
                                   "match": {"token_sha256": sha256_hex(token)}}],
                       "routes": [dict(ROUTE, agents=["research"])]})
    r = get_from(p.addr, SEARCH_URL, auth=("research", token))
    assert r.status == 200, r
    [rec] = searx.requests
    assert searx.header_values(rec, "Proxy-Authorization") == [], rec["headers"]
    assert token not in json.dumps(rec["headers"])
    assert searx.header_values(rec, "Authorization") == [SECRET]


def test_route_is_the_only_way_to_the_internal_address(routed, searx, canaries, dns):  # noqa
    """The same service addressed directly -- by literal, by a name that resolves to it, on
    its port or another, by CONNECT, from a listed, a report-mode or an open-mode agent -- is
    refused, and the stand-in sees no connection."""
    p = routed
    dns.set("searx-direct.test", a=[SEARX_IP])
    before = canaries.snapshot()
    direct = ["http://%s:8080/search?q=x&format=json" % SEARX_IP,
              "http://%s/search?q=x&format=json" % SEARX_IP,
              "http://searx-direct.test:8080/search?q=x&format=json",
              "http://10.0.0.1:8080/"]
    for src in (SRC_RESEARCH, SRC_REPORTER, SRC_OPENER):
        for url in direct:
            r = get_from(p.addr, url, src)
            assert r.status == 403, (src, url, r)
        for authority in ("%s:8080" % SEARX_IP, "searx-direct.test:8080", "%s:443" % SEARX_IP):
            with SourceConn(p.addr, src) as c:
                c.send(connect_req(authority))
                r = c.read_response("CONNECT")
            assert r.status == 403, (src, authority, r)
    wait_idle(searx)
    assert searx.connections() == 0, "a direct request reached the internal service"
    assert searx.requests == []
    canaries.assert_unchanged(before)
    lines = p.wait_logs(count=21)
    assert len(lines) == 21, lines
    for e in lines:
        assert_log_line(e, decision="deny", status=403)
        if e["host"] == "searx-direct.test" and e.get("agent") == "research":
            # research's allow list speaks before DNS
            assert e["reason"] == "domain_not_allowed", e
        else:
            assert e["reason"] == "ip_non_global", e
    # ... while the route itself works.
    assert get_from(p.addr, SEARCH_URL, SRC_RESEARCH).status == 200
    wait_idle(searx)
    assert searx.connections(8080) >= 1


@pytest.mark.parametrize("src", [SRC_CODER, SRC_REPORTER, SRC_OPENER],
                         ids=["enforce", "report", "open"])
def test_agent_not_listed_on_the_route_is_refused(routed, searx, src):  # noqa: F811
    p = routed
    r = get_from(p.addr, SEARCH_URL, src)
    assert_policy_denial(r, 403, "http_request_denied", host="search.internal",
                         guidance=GUIDANCE)
    wait_idle(searx)
    assert searx.connections() == 0 and searx.requests == []
    [e] = p.wait_logs({"host": "search.internal"})
    assert_log_line(e, decision="deny", reason="route_not_allowed", status=403)
    assert e["rule"] in r.text()
    _no_secret(p, r.text(), r.raw_head.decode("latin-1"))


def test_report_mode_agent_listed_on_the_route_uses_it(routed, searx):  # noqa: F811
    r = get_from(routed.addr, SEARCH_URL, SRC_OBSERVER)
    assert r.status == 200 and r.json()["query"] == "sluice", r
    [rec] = searx.requests
    assert searx.header_values(rec, "Authorization") == [SECRET]


def test_connect_to_a_route_host_is_refused(routed, searx):  # noqa: F811
    p = routed
    for authority in ("search.internal:443", "search.internal:80"):
        with SourceConn(p.addr, SRC_RESEARCH) as c:
            c.send(connect_req(authority))
            r = c.read_response("CONNECT")
        assert_policy_denial(r, 403, "http_request_denied", host="search.internal")
        assert "http://" in r.text(), "the denial does not tell the agent to use http://"
    wait_idle(searx)
    assert searx.connections() == 0
    lines = p.wait_logs(count=2)
    assert [e["reason"] for e in lines] == ["route_needs_http"] * 2, lines


def test_keepalive_connection_mixing_route_and_normal_requests(routed, searx, origins):  # noqa
    """Injected headers go to the route's upstream only, never to another host on the same
    client connection."""
    p = routed
    with SourceConn(p.addr, SRC_RESEARCH) as c:
        for url in (SEARCH_URL, "http://public.test/echo", SEARCH_URL, "http://public.test/echo"):
            c.send(build_request(url, extra_headers=[("Cookie", "c=1")]))
            r = c.read_response()
            assert r.status == 200, (url, r)
            if "public.test" in url:
                hdrs = {k.lower(): v for k, v in r.json()["headers"]}
                assert "authorization" not in hdrs and "x-from" not in hdrs, hdrs
                assert hdrs.get("cookie") == "c=1", hdrs
                assert hdrs.get("host") == "public.test", hdrs
            else:
                assert r.json()["query"] == "sluice"
    assert len(searx.requests) == 2
    lines = p.wait_logs(count=4)
    assert [e["host"] for e in lines] == ["search.internal", "public.test"] * 2, lines


def test_rewrite_upstream_base_path_name_upstream_and_open_route(sluice, searx, dns, tmp_path):  # noqa
    """A route without an agents list is open to every agent; the prefix rewrite and the
    upstream URL's own path both apply; an upstream given by name is resolved; a header value
    may come from a file (its trailing newline dropped)."""
    dns.set("searxng.test", a=[SEARX_IP])
    keyfile = tmp_path / "key"
    keyfile.write_text("file-secret-42\n")
    p = sluice(config={"agents": AGENTS, "routes": [
        {"host": "api.internal", "upstream": "http://searxng.test:8080/base",
         "rewrite": {"from": "/v1/", "to": "/"},
         "headers": {"set": {"X-Api-Key": {"file": str(keyfile)}}}},
    ]})
    for src in (SRC_RESEARCH, SRC_CODER):
        r = get_from(p.addr, "http://api.internal/v1/search?q=x&format=json", src)
        assert r.status == 404, r  # the stand-in has no /base/search
    recs = searx.requests
    assert [rec["path"] for rec in recs] == ["/base/search?q=x&format=json"] * 2, recs
    for rec in recs:
        assert searx.header_values(rec, "Host") == ["searxng.test:8080"], rec["headers"]
        assert searx.header_values(rec, "X-Api-Key") == ["file-secret-42"], rec["headers"]
    assert "file-secret-42" not in p.proc.stdout_bytes().decode()


def test_route_upstream_connection_is_pooled_under_its_own_port(sluice, monkeypatch,
                                                                  searx):  # noqa: F811
    """The agent names port 80, the route connects to 8080: the idle connection is parked and
    found again under 8080, where it really goes (one worker: each keeps its own pool). Parked
    under 80, it was never reused, and could have served a request judged for port 80."""
    monkeypatch.setenv("SEARX_KEY", SECRET)
    p = sluice(config={"agents": AGENTS, "routes": [ROUTE], "workers": 1, "ports": ["*"]})
    for i in range(3):
        r = get_from(p.addr, SEARCH_URL + "&i=%d" % i, SRC_RESEARCH)
        assert r.status == 200, r
    wait_idle(searx)
    assert len(searx.requests) == 3, searx.requests
    assert searx.connections(8080) == 1, "a new upstream connection per request"
    assert searx.connections(80) == 0


def test_route_to_an_ipv6_literal_upstream(sluice, origins):  # noqa: F811
    """Regression (issue 11): a route whose upstream is an IPv6 literal, as config.md's
    https://[fd00::5]:8443 example, was answered 500 "route upstream host is invalid": each
    request parsed the stored host text again, and "2001:db8::10" without its brackets is not
    an authority. The upstream is now parsed once, at load."""
    before = origins.hits("2001:db8::10", 8080)
    p = sluice(config={"routes": [{"host": "v6.internal",
                                   "upstream": "http://[2001:db8::10]:8080"}]})
    r = get_from(p.addr, "http://v6.internal/echo?x=1")
    assert r.status == 200, r
    doc = r.json()
    assert doc["path"] == "/echo?x=1", doc
    hdrs = {k.lower(): v for k, v in doc["headers"]}
    assert hdrs.get("host") == "[2001:db8::10]:8080", hdrs
    assert origins.hits("2001:db8::10", 8080) > before
    [e] = p.wait_logs({"host": "v6.internal"})
    assert_log_line(e, decision="allow", status=200, ip="2001:db8::10")
