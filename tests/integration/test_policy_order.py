"""The order of the checks of docs/policy.md (issue 10 item 10), one adjacent pair at a time:
a request that two checks would refuse is refused by the earlier one, and nothing the later
one needs (a DNS query, the upstream) happens. Also the documented choice that a route host is
governed by its route alone (routes[].agents), not by the agent's `ports`, `allow` or `deny`,
and that the headings of policy.md's order are the order tested here."""

import os
import re

from agents_util import SRC_CODER, SRC_RESEARCH, SRC_STRANGER, get_from, sha256_hex
from checks import assert_refused
from searx_stub import SEARX_IP, searx  # noqa: F401 (searx is a fixture)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOKEN = "order-token-5e6f"
ROUTE = {"host": "search.internal", "upstream": "http://%s:8080" % SEARX_IP,
         "agents": ["research"]}
RESEARCH = {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]}}
CODER = {"name": "coder", "match": {"source": [SRC_CODER + "/32"]}}


def agents(*extra, **research):
    return [dict(RESEARCH, **research)] + list(extra)


def ask(p, url, source=None, **kw):
    """One request and its log line. Every request of these tests goes through here, so no
    earlier line can arrive late and be taken for this one's."""
    mark = p.log_mark()
    r = get_from(p.addr, url, source, **kw)
    [e] = p.wait_logs(since=mark, count=1)
    return r, e


# ---- the headings are the order --------------------------------------------------------------

ORDER = ["Via", "agent", "route", "Literal addresses", "deny", "Port", "allow", "methods",
         "mode", "max_request_body", "Names", "Connect", "body"]


def test_policy_md_headings_give_the_whole_order():
    """docs/policy.md numbers every check, identification, routes, methods and both
    max_request_body checks included, in the order the tests below assert. (Fails on the doc
    that left them out and put ports before deny.)"""
    with open(os.path.join(ROOT, "docs", "policy.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## The order of the checks", 1)[1].split("\n## ", 1)[0]
    headings = re.findall(r"(?m)^### (\d+)\. (.+)$", section)
    assert [int(n) for n, _ in headings] == list(range(len(headings))), headings
    assert len(headings) == len(ORDER), headings
    for (_, title), word in zip(headings, ORDER):
        assert word.lower() in title.lower(), (title, word)


# ---- adjacent pairs -----------------------------------------------------------------------------

def test_via_loop_before_identification(sluice):
    """A looping request is refused as a loop even by a config that would answer 407."""
    p = sluice(config={"agents": [{"name": "ci", "match": {"token_sha256": sha256_hex(TOKEN)}}]})
    r, _ = ask(p, "http://public.test/echo", auth=("ci", TOKEN))
    [via] = [v for k, v in r.json()["headers"] if k.lower() == "via"]
    r, e = ask(p, "http://public.test/echo", extra_headers=[("Via", via)])
    assert_refused(r, 403, "proxy_loop_detected")
    assert e["rule"] == "builtin: Via names this proxy"


def test_identification_before_routes(sluice, searx):  # noqa: F811
    """An unidentified client is answered 407 for a route host too: the route's agent list is
    asked only about an agent."""
    p = sluice(config={"agents": agents({"name": "ci", "match": {
        "token_sha256": sha256_hex(TOKEN)}}), "routes": [ROUTE]})
    r, _ = ask(p, "http://search.internal/search?q=a&format=json", SRC_STRANGER)
    assert r.status == 407
    assert searx.requests == []


def test_route_connect_before_route_agents(sluice, searx):  # noqa: F811
    p = sluice(config={"agents": agents(CODER), "routes": [ROUTE]})
    r, e = ask(p, "search.internal:80", SRC_CODER, method="CONNECT")
    assert_refused(r, 403, "http_request_denied")
    assert e["reason"] == "route_needs_http"


def test_route_agents_before_methods(sluice, searx):  # noqa: F811
    p = sluice(config={"agents": agents(dict(CODER, methods=["GET"])), "routes": [ROUTE]})
    r, e = ask(p, "http://search.internal/echo", SRC_CODER, method="POST", body=b"x")
    assert_refused(r, 403, "http_request_denied")
    assert e["reason"] == "route_not_allowed"


def test_route_methods_before_body_limit(sluice, searx):  # noqa: F811
    p = sluice(config={"agents": agents(methods=["GET"], max_request_body=10),
                       "routes": [ROUTE]})
    r, e = ask(p, "http://search.internal/echo", SRC_RESEARCH, method="POST", body=b"x" * 100)
    assert_refused(r, 403, "http_request_denied")
    assert e["reason"] == "method_not_allowed"
    r, e = ask(p, "http://search.internal/echo", SRC_RESEARCH, method="GET",
               extra_headers=[("Content-Length", "100")])
    assert r.status == 413
    assert e["reason"] == "body_too_large"
    assert searx.requests == []


def test_route_host_ignores_the_agents_ports_allow_and_deny(sluice, searx):  # noqa: F811
    """The documented choice: a route is the operator's grant for its host on every port, and
    routes[].agents is its only restriction; the agent's ports, allow and deny (and the
    top-level ones) are not consulted for it. The same agent is refused elsewhere."""
    p = sluice(config={"ports": [443], "agents": agents(
        ports=[443], allow=[], deny=["*.internal", "search.internal"]), "routes": [ROUTE]})
    for url in ("http://search.internal/search?q=a&format=json",
                "http://search.internal:8080/search?q=b&format=json",
                "http://search.internal:22/search?q=c&format=json"):
        r, e = ask(p, url, SRC_RESEARCH)
        assert r.status == 200, (url, r)
        assert e["rule"].startswith("route: search.internal -> "), url
    assert [rec["path"] for rec in searx.requests] == [
        "/search?q=a&format=json", "/search?q=b&format=json", "/search?q=c&format=json"]
    r, e = ask(p, "http://public.test/echo", SRC_RESEARCH)
    assert r.status == 403 and e["reason"] == "port_not_allowed", e


def test_literal_address_before_port(proxy, canaries):
    before = canaries.snapshot()
    r, e = ask(proxy, "http://10.0.0.1:22/")
    assert_refused(r, 403, "destination_ip_prohibited")
    assert e["reason"] == "ip_non_global"
    canaries.assert_unchanged(before)


def test_deny_before_port(sluice, dns):
    """A name that deny lists is refused as denied on a port that ports does not list too."""
    p = sluice(config={"deny": ["public.test"]})
    r, e = ask(p, "http://public.test:8080/echo")
    assert r.status == 403
    assert (e["reason"], e["rule"]) == ("domain_denied", "deny: public.test")


def test_port_before_allow(sluice):
    p = sluice(config={"allow": ["public2.test"]})
    r, e = ask(p, "http://public.test:8080/echo")
    assert r.status == 403 and e["reason"] == "port_not_allowed", e


def test_an_allow_pattern_pinned_to_a_port_opens_it(sluice):
    p = sluice(config={"allow": ["public.test:8080", "public2.test"]})
    r, _ = ask(p, "http://public.test:8080/echo")
    assert r.status == 200
    r, e = ask(p, "http://public2.test:8080/echo")
    assert r.status == 403 and e["reason"] == "port_not_allowed", e


def test_allow_before_methods(sluice):
    p = sluice(config={"allow": ["public2.test"], "methods": ["GET"]})
    r, e = ask(p, "http://public.test/upload", method="POST", body=b"x")
    assert r.status == 403 and e["reason"] == "domain_not_allowed", e


def test_methods_before_body_limit(sluice):
    p = sluice(config={"methods": ["GET"], "max_request_body": 10})
    r, e = ask(p, "http://public.test/upload", method="POST", body=b"x" * 100)
    assert r.status == 403 and e["reason"] == "method_not_allowed", e


def test_body_limit_before_dns(sluice, dns):
    """A Content-Length over the limit is refused before the name is looked up."""
    p = sluice(config={"max_request_body": 10})
    r, e = ask(p, "http://nx.test/upload", method="POST", body=b"x" * 100)
    assert_refused(r, 413, "http_request_denied")
    assert e["reason"] == "body_too_large"
    assert dns.queries("nx.test") == 0


def test_name_rules_before_dns(sluice, dns):
    p = sluice(config={"deny": ["meta.test"]})
    r, e = ask(p, "http://meta.test/")
    assert r.status == 403 and e["reason"] == "domain_denied", e
    assert dns.queries("meta.test") == 0


def test_report_mode_names_the_body_limit_over_an_earlier_rule(sluice, origins):
    """In report mode the request is forwarded; a Content-Length over the limit replaces the
    name, port or method rule that would also have refused it as the line's reason."""
    p = sluice(config={"mode": "report", "allow": ["public2.test"], "max_request_body": 10})
    r, e = ask(p, "http://public.test/upload", method="POST", body=b"x" * 100)
    assert r.status == 200 and r.json()["length"] == 100, r
    assert (e["decision"], e["reason"]) == ("report", "body_too_large"), e
    r, e = ask(p, "http://public.test/upload", method="POST", body=b"x" * 5)
    assert r.status == 200
    assert (e["decision"], e["reason"]) == ("report", "domain_not_allowed"), e
