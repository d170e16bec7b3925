"""Modes (issue 4): enforce, report (a would-be denial is forwarded and logged as "report" with
the rule that would have denied it) and open. Report and open relax the name, port, method and
body rules, never the built-in block of internal destinations nor who the client is."""

import hashlib

import pytest

from agents_util import SRC_CODER, SRC_RESEARCH, SRC_STRANGER, SourceConn, get_from
from checks import assert_log_line, assert_refused
from client import connect_req

TIGHT = {"allow": ["public.test"], "deny": ["public2.test"], "ports": [80],
         "methods": ["GET"], "max_request_body": 10}


def _agents(mode_research, mode_coder="enforce"):
    return [
        dict(TIGHT, name="research", match={"source": [SRC_RESEARCH + "/32"]},
             mode=mode_research),
        dict(TIGHT, name="coder", match={"source": [SRC_CODER + "/32"]}, mode=mode_coder),
    ]


def test_report_mode_forwards_and_logs_what_would_have_denied(sluice, origins):
    p = sluice(config={"agents": _agents("report")})
    n0 = origins.requests("198.51.100.10")
    r = get_from(p.addr, "http://public2.test/echo", SRC_RESEARCH)
    assert r.status == 200, r
    assert r.json()["path"] == "/echo"
    assert origins.requests("198.51.100.10") == n0 + 1
    [e] = p.wait_logs({"host": "public2.test"})
    assert_log_line(e, decision="report", reason="domain_denied", status=200, agent="research",
                    ip="198.51.100.10")
    assert "public2.test" in e["rule"], e
    # The same request from the enforcing agent is denied, with the same rule.
    r = get_from(p.addr, "http://public2.test/echo", SRC_CODER)
    assert_refused(r, 403, "http_request_denied", host="public2.test")
    assert origins.requests("198.51.100.10") == n0 + 1
    [e2] = p.wait_logs({"host": "public2.test", "agent": "coder"})
    assert_log_line(e2, decision="deny", reason="domain_denied")
    assert e2["rule"] == e["rule"]


def test_report_mode_name_outside_allow_list(sluice, origins, dns):
    dns.set("other.test", a=["192.0.2.10"])
    p = sluice(config={"agents": _agents("report")})
    r = get_from(p.addr, "http://other.test/echo", SRC_RESEARCH)
    assert r.status == 200, r
    [e] = p.wait_logs({"host": "other.test"})
    assert_log_line(e, decision="report", reason="domain_not_allowed", status=200)
    assert e["rule"], e


def test_report_mode_relaxes_port_method_and_body_rules(sluice, origins):
    p = sluice(config={"agents": _agents("report")})
    r = get_from(p.addr, "http://public.test:8080/echo", SRC_RESEARCH)
    assert r.status == 200 and r.json()["server"].endswith(":8080"), r
    body = b"q" * 5000
    r = get_from(p.addr, "http://public.test/upload", SRC_RESEARCH, method="POST", body=body)
    assert r.status == 200, r
    assert r.json() == {"sha256": hashlib.sha256(body).hexdigest(), "length": len(body)}
    r = get_from(p.addr, "http://public.test/echo", SRC_RESEARCH, method="DELETE")
    assert r.status == 200, r
    lines = p.wait_logs(count=3)
    assert [(e["decision"], e["status"]) for e in lines] == [("report", 200)] * 3, lines
    by = {(e["method"], e["port"]): e for e in lines}
    assert by[("GET", 8080)]["reason"] == "port_not_allowed", lines
    # POST with an over-limit body breaks two rules; either may be the one logged.
    assert by[("POST", 80)]["reason"] in ("method_not_allowed", "body_too_large"), lines
    assert by[("DELETE", 80)]["reason"] == "method_not_allowed", lines
    for e in lines:
        assert e["rule"] and e.get("agent") == "research", e


def test_report_mode_body_limit_alone(sluice, origins):
    p = sluice(config={"agents": [dict(TIGHT, name="research", methods=["GET", "POST"],
                                       match={"source": [SRC_RESEARCH + "/32"]},
                                       mode="report")]})
    body = b"z" * 3000
    r = get_from(p.addr, "http://public.test/upload", SRC_RESEARCH, method="POST", body=body)
    assert r.status == 200 and r.json()["length"] == 3000, r
    [e] = p.wait_logs({"method": "POST"})
    assert_log_line(e, decision="report", reason="body_too_large", status=200)


def test_report_mode_connect_is_forwarded_and_logged(sluice):
    p = sluice(config={"agents": [
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]}, "mode": "report",
         "allow": ["public2.test"]}]})
    with SourceConn(p.addr, SRC_RESEARCH) as c:
        c.send(connect_req("public.test:443"))
        assert c.read_response("CONNECT").status == 200
        c.send(b"hello")
        got = b""
        while len(got) < 5:
            got += c.recv_some()
        assert got == b"hello"
    [e] = p.wait_logs({"method": "CONNECT"})
    assert_log_line(e, decision="report", reason="domain_not_allowed", host="public.test")


def test_open_mode_allows_every_name_port_method_and_body(sluice, origins):
    p = sluice(config={"agents": _agents("open")})
    assert get_from(p.addr, "http://public2.test/echo", SRC_RESEARCH).status == 200
    assert get_from(p.addr, "http://public.test:8080/echo", SRC_RESEARCH).status == 200
    r = get_from(p.addr, "http://public.test/upload", SRC_RESEARCH, method="PUT", body=b"x" * 99)
    assert r.status == 200 and r.json()["length"] == 99, r
    lines = p.wait_logs(count=3)
    assert [(e["decision"], e["status"]) for e in lines] == [("allow", 200)] * 3, lines
    # ... and enforce is still enforce for the other agent
    assert get_from(p.addr, "http://public2.test/echo", SRC_CODER).status == 403


BLOCKED = [
    ("http://10.0.0.1/", None),
    ("http://169.254.169.254/latest/meta-data/", None),
    ("http://internal.test/", "10.0.0.1"),
    ("http://meta.test/", "169.254.169.254"),
    ("http://loop.test/", "127.0.0.2"),
    ("http://[fd00::1]/", None),
    ("http://mixed.test/", "10.0.0.1"),
    ("CONNECT 10.0.0.1:443", None),
    ("CONNECT meta.test:443", None),
]


@pytest.mark.parametrize("mode", ["report", "open"])
def test_modes_never_relax_the_builtin_block(sluice, canaries, mode):
    p = sluice(config={"agents": _agents(mode)})
    before = canaries.snapshot()
    for target, _ in BLOCKED:
        mark = p.proc.log_mark()
        if target.startswith("CONNECT "):
            with SourceConn(p.addr, SRC_RESEARCH) as c:
                c.send(connect_req(target.split()[1]))
                r = c.read_response("CONNECT")
        else:
            r = get_from(p.addr, target, SRC_RESEARCH)
        assert r.status == 403, (target, r)
        assert_refused(r, 403, "destination_ip_prohibited")
        lines = p.wait_logs(count=1, since=mark)
        assert len(lines) == 1 and lines[0]["decision"] == "deny", (target, lines)
        assert lines[0]["reason"] in ("ip_non_global", "ip_metadata"), (target, lines)
    canaries.assert_unchanged(before)


def test_top_level_mode_applies_to_the_implicit_default_agent(sluice, origins):
    p = sluice(config={"mode": "report", "allow": ["public.test"]})
    r = get_from(p.addr, "http://public2.test/echo")
    assert r.status == 200, r
    [e] = p.wait_logs({"host": "public2.test"})
    assert_log_line(e, decision="report", reason="domain_not_allowed", agent="default")


def test_agent_mode_overrides_the_top_level_mode(sluice, origins):
    p = sluice(config={"mode": "report", "allow": ["public.test"], "agents": [
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]}},
        {"name": "coder", "match": {"source": [SRC_CODER + "/32"]}, "mode": "enforce"},
    ]})
    assert get_from(p.addr, "http://public2.test/echo", SRC_RESEARCH).status == 200
    n0 = origins.hits("198.51.100.10")
    assert_refused(get_from(p.addr, "http://public2.test/echo", SRC_CODER), 403,
                   "http_request_denied")
    assert origins.hits("198.51.100.10") == n0
    lines = p.wait_logs(count=2)
    assert sorted((e.get("agent"), e["decision"]) for e in lines) == [("coder", "deny"),
                                                                     ("research", "report")]


def test_modes_do_not_relax_identity(sluice, origins):
    """Report and open are about destinations; an unknown client or a missing token is still
    refused."""
    p = sluice(config={"mode": "open", "agents": [
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]}},
        {"name": "ci", "match": {"token_sha256": "0" * 64}, "mode": "report"},
    ]})
    n0 = origins.hits("192.0.2.10")
    r = get_from(p.addr, "http://public.test/echo", SRC_STRANGER)
    assert_refused(r, 407)
    r = get_from(p.addr, "http://public.test/echo", SRC_STRANGER, auth=("ci", "wrong"))
    assert_refused(r, 407)
    assert origins.hits("192.0.2.10") == n0
    assert get_from(p.addr, "http://public.test/echo", SRC_RESEARCH).status == 200


def test_ips_deny_is_not_relaxed_by_open_mode(sluice, origins):
    p = sluice(config={"mode": "open", "ips": {"deny": ["198.51.100.0/24"]}})
    n0 = origins.hits("198.51.100.10")
    assert_refused(get_from(p.addr, "http://public2.test/echo"), 403,
                   "destination_ip_prohibited")
    assert origins.hits("198.51.100.10") == n0
