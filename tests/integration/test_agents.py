"""Agents (issue 4): telling agents apart by source address and by proxy credentials, the 407
flow, unknown clients and the default agent, per-agent rules (allow/deny, port pins, ports,
methods, max_request_body), inheritance of the top-level rules, the "agent" log field and
the guidance text in denials."""

import json
import re
import time

import pytest

from agents_util import (SRC_CODER, SRC_RESEARCH, SRC_STRANGER, SourceConn,
                         assert_agent_after_client, assert_policy_denial, basic, curl_as,
                         get_from, sha256_hex)
from checks import assert_log_line, assert_refused
from client import ConnectionClosed, RawConn, connect_req

TOKEN_CODER = "coder-token-9f8e7d"
TOKEN_BETA = "beta-token-from-env"
TOKEN_CI = "ci-token-123"

SOURCE_AGENTS = [
    {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]}, "allow": ["public.test"]},
    {"name": "coder", "match": {"source": [SRC_CODER + "/32"]}, "allow": ["public2.test"]},
]


# ---- identity by source address -----------------------------------------------------------

def test_two_agents_told_apart_by_source_address_get_different_answers(sluice, origins):
    p = sluice(config={"agents": SOURCE_AGENTS})
    n0 = origins.hits("192.0.2.10")
    rc, err, t = curl_as(p, "http://public.test/echo", source=SRC_RESEARCH)
    assert rc == 0, err
    assert t.status == 200, t.body
    assert json.loads(t.body)["path"] == "/echo"
    n1 = origins.hits("192.0.2.10")
    assert n1 > n0

    rc, err, t = curl_as(p, "http://public.test/echo", source=SRC_CODER)
    assert t is not None and t.status == 403, (rc, err, t and t.body)
    assert b"public.test" in t.body
    assert origins.hits("192.0.2.10") == n1, "coder's denied request reached the origin"

    # ... and the other way round for the coder's host.
    rc, err, t = curl_as(p, "http://public2.test/echo", source=SRC_CODER)
    assert rc == 0 and t.status == 200, (err, t and t.body)
    rc, err, t = curl_as(p, "http://public2.test/echo", source=SRC_RESEARCH)
    assert t.status == 403

    # Workers flush their log lines independently: match lines by content, not order.
    lines = p.wait_logs(count=4)
    by = {(e.get("agent"), e.get("host")): e for e in lines}
    assert {k: e.get("decision") for k, e in by.items()} == {
        ("research", "public.test"): "allow", ("coder", "public.test"): "deny",
        ("coder", "public2.test"): "allow", ("research", "public2.test"): "deny"}, lines
    assert by[("research", "public.test")]["client"].startswith(SRC_RESEARCH + ":")
    assert by[("coder", "public.test")]["client"].startswith(SRC_CODER + ":")
    assert_log_line(by[("coder", "public.test")], decision="deny", reason="domain_not_allowed",
                    status=403)
    for (agent, _), e in by.items():
        assert_agent_after_client(e, agent)


def test_most_specific_source_match_wins(sluice, origins):
    """A /32 inside a /24 belongs to the /32's agent, whatever the file order."""
    p = sluice(config={"agents": [
        {"name": "wide", "match": {"source": ["127.0.0.0/24"]}, "allow": ["public2.test"]},
        {"name": "narrow", "match": {"source": [SRC_RESEARCH + "/32"]}, "allow": ["public.test"]},
    ]})
    assert get_from(p.addr, "http://public.test/echo", SRC_RESEARCH).status == 200
    assert get_from(p.addr, "http://public.test/echo", SRC_CODER).status == 403
    assert get_from(p.addr, "http://public2.test/echo", SRC_CODER).status == 200
    agents = sorted((e.get("agent"), e.get("host"), e.get("status"))
                    for e in p.wait_logs(count=3))
    assert agents == [("narrow", "public.test", 200), ("wide", "public.test", 403),
                      ("wide", "public2.test", 200)], agents


# ---- identity by credentials --------------------------------------------------------------

def _token_agents():
    return [
        {"name": "alpha", "match": {"token_sha256": sha256_hex(TOKEN_CODER)},
         "allow": ["public.test"]},
        {"name": "beta", "match": {"token_env": "SLUICE_TEST_BETA_TOKEN"},
         "allow": ["public2.test"]},
    ]


def test_two_agents_told_apart_by_credentials_get_different_answers(sluice, origins,
                                                                      monkeypatch):
    monkeypatch.setenv("SLUICE_TEST_BETA_TOKEN", TOKEN_BETA)
    p = sluice(config={"agents": _token_agents()})
    n0 = origins.hits("192.0.2.10")
    rc, err, t = curl_as(p, "http://public.test/echo", user=("alpha", TOKEN_CODER))
    assert rc == 0 and t.status == 200, (err, t and t.body)
    n1 = origins.hits("192.0.2.10")
    assert n1 > n0
    rc, err, t = curl_as(p, "http://public.test/echo", user=("beta", TOKEN_BETA))
    assert t is not None and t.status == 403, (err, t and t.body)
    assert origins.hits("192.0.2.10") == n1
    rc, err, t = curl_as(p, "http://public2.test/echo", user=("beta", TOKEN_BETA))
    assert rc == 0 and t.status == 200, (err, t and t.body)
    lines = p.wait_logs(count=3)
    assert sorted((e.get("agent"), e.get("host"), e.get("decision")) for e in lines) == \
        [("alpha", "public.test", "allow"), ("beta", "public.test", "deny"),
         ("beta", "public2.test", "allow")], lines
    for e in lines:
        assert TOKEN_CODER not in json.dumps(e) and TOKEN_BETA not in json.dumps(e), e


def test_token_from_file(sluice, origins, tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN_CI + "\n")  # the trailing newline is not part of the token
    p = sluice(config={"agents": [{"name": "ci", "match": {"token_file": str(path)},
                                   "allow": ["public.test"]}]})
    assert get_from(p.addr, "http://public.test/echo", auth=("ci", TOKEN_CI)).status == 200
    r = get_from(p.addr, "http://public.test/echo", auth=("ci", TOKEN_CI + "\n"))
    assert r.status == 407, r


def test_missing_credentials_get_407_with_basic_challenge(sluice, origins):
    p = sluice(config={"agents": _token_agents_sha()})
    n0 = origins.hits("192.0.2.10")
    r = get_from(p.addr, "http://public.test/echo")
    assert_refused(r, 407)
    assert r.header("Proxy-Authenticate") == 'Basic realm="sluice"', r
    assert origins.hits("192.0.2.10") == n0
    [e] = p.wait_logs({"host": "public.test"})
    assert_log_line(e, decision="deny", reason="auth_required", status=407)


def _token_agents_sha():
    return [{"name": "alpha", "match": {"token_sha256": sha256_hex(TOKEN_CODER)},
             "allow": ["public.test"]}]


@pytest.mark.parametrize("auth", [
    ("alpha", "wrong-token"),
    ("alpha", ""),
    ("nobody", TOKEN_CODER),
    ("ALPHA", TOKEN_CODER),
    "Basic " + "YWxwaGE=",  # "alpha" with no colon and no password
], ids=["wrong_token", "empty_token", "unknown_name", "name_case", "no_password"])
def test_credentials_not_accepted_get_407(sluice, origins, auth):
    p = sluice(config={"agents": _token_agents_sha()})
    n0 = origins.hits("192.0.2.10")
    r = get_from(p.addr, "http://public.test/echo", auth=auth)
    assert_refused(r, 407)
    assert r.header("Proxy-Authenticate") == 'Basic realm="sluice"', r
    assert origins.hits("192.0.2.10") == n0
    [e] = p.wait_logs({"host": "public.test"})
    assert_log_line(e, decision="deny", reason="auth_required", status=407)
    assert TOKEN_CODER not in p.proc.stdout_bytes().decode("utf-8", "replace")


def test_right_credentials_pass_and_are_not_forwarded(sluice, origins):
    p = sluice(config={"agents": _token_agents_sha()})
    r = get_from(p.addr, "http://public.test/echo", auth=("alpha", TOKEN_CODER))
    assert r.status == 200, r
    names = [k.lower() for k, _ in r.json()["headers"]]
    assert "proxy-authorization" not in names, r.json()["headers"]
    assert TOKEN_CODER not in r.text()
    [e] = p.wait_logs({"host": "public.test"})
    assert_log_line(e, decision="allow", status=200)
    assert_agent_after_client(e, "alpha")


def test_credentials_on_connect(sluice):
    p = sluice(config={"agents": _token_agents_sha()})
    with SourceConn(p.addr) as c:
        c.send(connect_req("public.test:443"))
        r = c.read_response("CONNECT")
    assert_refused(r, 407)
    assert r.header("Proxy-Authenticate") == 'Basic realm="sluice"'
    with SourceConn(p.addr) as c:
        c.send(b"CONNECT public.test:443 HTTP/1.1\r\nHost: public.test:443\r\n"
               b"Proxy-Authorization: %s\r\n\r\n" % basic("alpha", TOKEN_CODER).encode())
        r = c.read_response("CONNECT")
        assert r.status == 200, r
        c.send(b"ping")
        got = b""
        while len(got) < 4:
            got += c.recv_some()
        assert got == b"ping"
    e = p.wait_logs({"method": "CONNECT", "decision": "allow"})
    assert e and e[0].get("agent") == "alpha", p.logs()


def test_curl_follows_the_407_challenge(sluice):
    """--proxy-anyauth: curl first asks without credentials and answers the 407's
    Proxy-Authenticate: Basic with them."""
    p = sluice(config={"agents": _token_agents_sha()})
    rc, err, t = curl_as(p, "http://public.test/echo", args=[
        "--proxy-user", "alpha:" + TOKEN_CODER, "--proxy-anyauth"])
    assert rc == 0, err
    assert t.status == 200, t.body
    lines = p.wait_logs(count=2)
    assert sorted((e.get("status"), e.get("reason")) for e in lines) == \
        [(200, "allowed"), (407, "auth_required")], lines


def test_agent_with_source_and_token_needs_both(sluice):
    p = sluice(config={"agents": [
        {"name": "ci", "match": {"source": [SRC_CODER + "/32"],
                                 "token_sha256": sha256_hex(TOKEN_CI)},
         "allow": ["public.test"]},
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]},
         "allow": ["public2.test"]},
    ]})
    r = get_from(p.addr, "http://public.test/echo", SRC_CODER)
    assert_refused(r, 407)
    assert r.header("Proxy-Authenticate") == 'Basic realm="sluice"'
    assert get_from(p.addr, "http://public.test/echo", SRC_CODER,
                    auth=("ci", TOKEN_CI)).status == 200
    # The right token from outside ci's source range is not ci.
    r = get_from(p.addr, "http://public.test/echo", SRC_RESEARCH, auth=("ci", TOKEN_CI))
    assert_refused(r, 407)
    lines = p.wait_logs(count=3)
    assert sorted(e.get("status") for e in lines) == [200, 407, 407], lines


# ---- unknown clients ----------------------------------------------------------------------

def test_unknown_client_refused_without_default_agent(sluice, origins):
    p = sluice(config={"agents": SOURCE_AGENTS, "guidance": "Ask #platform for access."})
    n0 = origins.hits("192.0.2.10")
    r = get_from(p.addr, "http://public.test/echo", SRC_STRANGER)
    assert_policy_denial(r, 403, "http_request_denied", guidance="Ask #platform for access.")
    assert r.header("Proxy-Authenticate") is None
    assert origins.hits("192.0.2.10") == n0
    [e] = p.wait_logs({"host": "public.test"})
    assert_log_line(e, decision="deny", reason="unknown_agent", status=403)
    with SourceConn(p.addr, SRC_STRANGER) as c:
        c.send(connect_req("public.test:443"))
        assert_refused(c.read_response("CONNECT"), 403, "http_request_denied")


def test_unknown_client_falls_to_default_agent(sluice, origins):
    p = sluice(config={"agents": SOURCE_AGENTS + [{"name": "default",
                                                    "allow": ["public2.test"]}]})
    r = get_from(p.addr, "http://public2.test/echo", SRC_STRANGER)
    assert r.status == 200, r
    n0 = origins.hits("192.0.2.10")
    r = get_from(p.addr, "http://public.test/echo", SRC_STRANGER)
    assert_refused(r, 403, "http_request_denied", host="public.test")
    assert origins.hits("192.0.2.10") == n0
    lines = p.wait_logs(count=2)
    assert sorted((e.get("agent"), e.get("host"), e.get("decision"), e.get("reason"))
                  for e in lines) == \
        [("default", "public.test", "deny", "domain_not_allowed"),
         ("default", "public2.test", "allow", "allowed")], lines
    # Known agents keep their own rules.
    assert get_from(p.addr, "http://public.test/echo", SRC_RESEARCH).status == 200


def test_unknown_client_gets_407_when_an_agent_has_a_token(sluice, origins):
    p = sluice(config={"agents": SOURCE_AGENTS[:1] + _token_agents_sha()})
    n0 = origins.hits("192.0.2.10")
    r = get_from(p.addr, "http://public.test/echo", SRC_STRANGER)
    assert_refused(r, 407)
    assert r.header("Proxy-Authenticate") == 'Basic realm="sluice"'
    assert origins.hits("192.0.2.10") == n0
    assert get_from(p.addr, "http://public.test/echo", SRC_STRANGER,
                    auth=("alpha", TOKEN_CODER)).status == 200


def test_without_agents_everyone_is_the_default_agent(sluice):
    p = sluice(config={"allow": ["public.test"]})
    assert get_from(p.addr, "http://public.test/echo", SRC_RESEARCH).status == 200
    assert get_from(p.addr, "http://public2.test/echo", SRC_CODER).status == 403
    lines = p.wait_logs(count=2)
    for e in lines:
        assert_agent_after_client(e, "default")
    [deny] = [e for e in lines if e["host"] == "public2.test"]
    assert_log_line(deny, decision="deny", reason="domain_not_allowed")


# ---- per-agent rules ----------------------------------------------------------------------

def test_agents_inherit_top_level_rules_they_do_not_set(sluice, origins):
    p = sluice(config={"allow": ["public.test"], "ports": [80], "agents": [
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]}},
        {"name": "coder", "match": {"source": [SRC_CODER + "/32"]}, "allow": ["public2.test"],
         "ports": [8080]},
    ]})
    # research: top-level allow and ports
    assert get_from(p.addr, "http://public.test/echo", SRC_RESEARCH).status == 200
    assert_refused(get_from(p.addr, "http://public2.test/echo", SRC_RESEARCH), 403,
                   "http_request_denied")
    assert_refused(get_from(p.addr, "http://public.test:8080/echo", SRC_RESEARCH), 403,
                   "http_request_denied")
    # coder: its own allow and ports replace the top-level ones
    assert get_from(p.addr, "http://public2.test:8080/echo", SRC_CODER).status == 200
    assert_refused(get_from(p.addr, "http://public2.test/echo", SRC_CODER), 403,
                   "http_request_denied")
    assert_refused(get_from(p.addr, "http://public.test:8080/echo", SRC_CODER), 403,
                   "http_request_denied")
    lines = p.wait_logs(count=6)
    assert sorted((e.get("agent"), e.get("host"), e.get("port"), e.get("reason"))
                  for e in lines) == [
        ("coder", "public.test", 8080, "domain_not_allowed"),
        ("coder", "public2.test", 80, "port_not_allowed"),
        ("coder", "public2.test", 8080, "allowed"),
        ("research", "public.test", 80, "allowed"),
        ("research", "public.test", 8080, "port_not_allowed"),
        ("research", "public2.test", 80, "domain_not_allowed")], lines


def test_agent_without_deny_inherits_the_top_level_deny(sluice, origins):
    p = sluice(config={"deny": ["public2.test"], "agents": [
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]},
         "allow": ["public.test", "public2.test"]},
        {"name": "coder", "match": {"source": [SRC_CODER + "/32"]},
         "allow": ["public2.test"], "deny": []},
    ]})
    n0 = origins.hits("198.51.100.10")
    r = get_from(p.addr, "http://public2.test/echo", SRC_RESEARCH)
    assert_refused(r, 403, "http_request_denied", host="public2.test")
    assert origins.hits("198.51.100.10") == n0
    [e] = p.wait_logs({"host": "public2.test"})
    assert_log_line(e, decision="deny", reason="domain_denied", agent="research")
    # An agent's own (empty) deny list replaces the inherited one.
    assert get_from(p.addr, "http://public2.test/echo", SRC_CODER).status == 200


def test_agent_deny_beats_allow_and_most_specific_rule_is_logged(sluice, origins):
    p = sluice(config={"agents": [
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]},
         "allow": ["*.blocked.test", "blocked.test"],
         "deny": ["*.blocked.test", "www.blocked.test"]},
    ]})
    n0 = origins.hits("192.0.2.10")
    r = get_from(p.addr, "http://www.blocked.test/echo", SRC_RESEARCH)
    assert_refused(r, 403, "http_request_denied", host="www.blocked.test")
    assert origins.hits("192.0.2.10") == n0
    assert get_from(p.addr, "http://blocked.test/echo", SRC_RESEARCH).status == 200
    [deny] = p.wait_logs({"host": "www.blocked.test"})
    assert_log_line(deny, decision="deny", reason="domain_denied", agent="research")
    assert "www.blocked.test" in deny["rule"] and "*" not in deny["rule"], deny
    assert deny["rule"] in r.text()
    [allow] = p.wait_logs({"host": "blocked.test"})
    assert_log_line(allow, decision="allow", agent="research")
    assert "blocked.test" in allow["rule"] and "*" not in allow["rule"], allow


def test_host_port_pattern_pins_the_port(sluice, origins):
    p = sluice(config={"agents": [
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]},
         "allow": ["public.test", "public6.test:8080"]},
    ]})
    r = get_from(p.addr, "http://public6.test:8080/echo", SRC_RESEARCH)
    assert r.status == 200, r
    assert r.json()["server"].endswith(":8080")
    n0 = origins.hits("2001:db8::10", 80)
    assert_refused(get_from(p.addr, "http://public6.test/echo", SRC_RESEARCH), 403,
                   "http_request_denied")
    assert origins.hits("2001:db8::10", 80) == n0
    # The pin opens 8080 for that host only.
    n0 = origins.hits("192.0.2.10", 8080)
    assert_refused(get_from(p.addr, "http://public.test:8080/echo", SRC_RESEARCH), 403,
                   "http_request_denied")
    assert origins.hits("192.0.2.10", 8080) == n0
    [pinned] = p.wait_logs({"host": "public6.test", "port": 8080})
    assert pinned["decision"] == "allow" and "public6.test:8080" in pinned["rule"], pinned
    lines = p.wait_logs(count=3)
    assert sorted(e["decision"] for e in lines) == ["allow", "deny", "deny"], lines


def test_methods_rule_applies_to_plain_http_only(sluice, origins):
    p = sluice(config={"methods": ["GET", "HEAD"], "agents": [
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]}},
        {"name": "coder", "match": {"source": [SRC_CODER + "/32"]},
         "methods": ["GET", "POST"]},
    ]})
    assert get_from(p.addr, "http://public.test/echo", SRC_RESEARCH).status == 200
    assert get_from(p.addr, "http://public.test/echo", SRC_RESEARCH, method="HEAD").status == 200
    n0 = origins.hits("192.0.2.10")
    r = get_from(p.addr, "http://public.test/upload", SRC_RESEARCH, method="POST", body=b"x" * 10)
    assert_refused(r, 403, "http_request_denied", host="public.test")
    assert origins.hits("192.0.2.10") == n0
    [e] = p.wait_logs({"method": "POST"})
    assert_log_line(e, decision="deny", reason="method_not_allowed", agent="research")
    # coder's own list replaces the inherited one
    r = get_from(p.addr, "http://public.test/upload", SRC_CODER, method="POST", body=b"x" * 10)
    assert r.status == 200 and r.json()["length"] == 10, r
    assert_refused(get_from(p.addr, "http://public.test/echo", SRC_CODER, method="HEAD"), 403,
                   "http_request_denied")
    # CONNECT is not a "method" of the methods rule.
    with SourceConn(p.addr, SRC_RESEARCH) as c:
        c.send(connect_req("public.test:443"))
        assert c.read_response("CONNECT").status == 200


def test_max_request_body_content_length(sluice, origins):
    p = sluice(config={"max_request_body": 1000, "agents": [
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]}},
        {"name": "coder", "match": {"source": [SRC_CODER + "/32"]}, "max_request_body": 0},
    ]})
    r = get_from(p.addr, "http://public.test/upload", SRC_RESEARCH, method="POST",
                 body=b"a" * 1000)
    assert r.status == 200 and r.json()["length"] == 1000, r
    n0 = origins.hits("192.0.2.10")
    r = get_from(p.addr, "http://public.test/upload", SRC_RESEARCH, method="POST",
                 body=b"a" * 1001)
    assert_refused(r, 413, "http_request_denied", host="public.test")
    assert origins.hits("192.0.2.10") == n0, "an over-limit body was forwarded"
    [e] = p.wait_logs({"status": 413})
    assert_log_line(e, decision="deny", reason="body_too_large", agent="research")
    # 0 = unlimited for coder
    r = get_from(p.addr, "http://public.test/upload", SRC_CODER, method="POST",
                 body=b"a" * 200000)
    assert r.status == 200 and r.json()["length"] == 200000, r


def test_max_request_body_chunked_over_limit_is_cut(sluice, origins):
    p = sluice(config={"max_request_body": 1000})
    with RawConn(p.addr) as c:
        c.send(b"POST http://public.test/upload HTTP/1.1\r\nHost: public.test\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        status = None
        try:
            for _ in range(10):
                c.send(b"200\r\n" + b"b" * 0x200 + b"\r\n")
            c.send(b"0\r\n\r\n")
            r = c.read_response()
            status = r.status
        except (ConnectionClosed, BrokenPipeError, ConnectionResetError):
            status = "cut"
    assert status in (413, "cut"), "a chunked body of 5120 bytes over a 1000-byte limit got %r" \
        % status
    e = p.wait_logs({"host": "public.test"})
    assert e and e[0].get("reason") == "body_too_large", p.logs()


# max_request_body with a chunked body (docs/config.md#max_request_body): no length is announced,
# so the limit is enforced as the body arrives, on the bytes received, chunk framing included.

def _chunked_head(path="/upload"):
    return (b"POST http://public.test%s HTTP/1.1\r\nHost: public.test\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" % path.encode())


def _chunk(payload):
    return b"%x\r\n" % len(payload) + payload + b"\r\n"


LAST_CHUNK = b"0\r\n\r\n"


def _send_chunked(p, pieces, pause=0.0):
    """Sends the head, then each piece (with `pause` seconds between them); returns the
    response, or "cut" when the connection was closed before one was read."""
    with RawConn(p.addr) as c:
        c.send(_chunked_head())
        try:
            for piece in pieces:
                time.sleep(pause)
                c.send(piece)
            return c.read_response()
        except (ConnectionClosed, BrokenPipeError, ConnectionResetError):
            return "cut"


def test_max_request_body_chunked_counts_the_framing(sluice, origins):
    """The limit counts every body byte received, chunk-size lines and CRLFs included: with a
    limit of 1000, a 988-byte payload in one chunk is exactly 1000 bytes and passes, a
    989-byte one is 1001 and is refused with 413 before any body byte is forwarded."""
    p = sluice(config={"max_request_body": 1000})
    body = _chunk(b"a" * 988) + LAST_CHUNK
    assert len(body) == 1000
    r = _send_chunked(p, [body])
    assert r != "cut" and r.status == 200 and r.json()["length"] == 988, r
    r = _send_chunked(p, [_chunk(b"a" * 989) + LAST_CHUNK])
    assert_refused(r, 413, "http_request_denied", host="public.test")
    assert r.header("Connection") == "close", r.headers
    [e] = p.wait_logs({"status": 413})
    assert_log_line(e, decision="deny", reason="body_too_large", status=413, bytes_up=0)
    assert e["rule"] == "max_request_body: 1000 bytes"


def test_max_request_body_chunked_is_cut_mid_stream(sluice, origins):
    """What arrived within the limit was already forwarded; the read that crosses it is not:
    the upstream has the head and 507 body bytes, never the last chunk, and its connection is
    closed; the client gets 413 (no response had started) and the connection is closed."""
    p = sluice(config={"max_request_body": 1000})
    n0 = origins.requests("192.0.2.10")
    first = _chunk(b"b" * 500)
    r = _send_chunked(p, [first, _chunk(b"c" * 490) + LAST_CHUNK], pause=0.3)
    assert_refused(r, 413, "http_request_denied", host="public.test")
    [e] = p.wait_logs({"status": 413})
    assert_log_line(e, decision="deny", reason="body_too_large", bytes_up=len(first))
    assert origins.requests("192.0.2.10") == n0 + 1, "the head was forwarded before the body"


def test_max_request_body_chunked_in_report_mode_is_forwarded_whole(sluice, origins):
    p = sluice(config={"max_request_body": 1000, "mode": "report"})
    r = _send_chunked(p, [_chunk(b"d" * 1500), _chunk(b"e" * 500) + LAST_CHUNK], pause=0.1)
    assert r != "cut" and r.status == 200 and r.json()["length"] == 2000, r
    [e] = p.wait_logs({"host": "public.test"})
    assert_log_line(e, decision="report", reason="body_too_large", status=200)
    assert e["rule"] == "max_request_body: 1000 bytes"


def test_max_request_body_open_mode_relaxes_both_framings(sluice, origins):
    """`open` forwards an over-limit body whatever its framing (it used to cut a chunked one
    while letting a Content-Length one through)."""
    p = sluice(config={"max_request_body": 1000, "mode": "open"})
    r = get_from(p.addr, "http://public.test/upload", method="POST", body=b"f" * 2000)
    assert r.status == 200 and r.json()["length"] == 2000, r
    r = _send_chunked(p, [_chunk(b"g" * 2000) + LAST_CHUNK])
    assert r != "cut" and r.status == 200 and r.json()["length"] == 2000, r
    lines = p.wait_logs({"host": "public.test"}, count=2)
    assert [e["rule"] for e in lines] == ["mode: open", "mode: open"], lines
    assert all(e["decision"] == "allow" for e in lines), lines


# ---- guidance -----------------------------------------------------------------------------

def test_denial_bodies_explain_and_carry_guidance(sluice):
    top = "Ask #platform for access."
    mine = "Research agents: file a ticket in RSRCH with the URL you need."
    p = sluice(config={"guidance": top, "agents": [
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]},
         "allow": ["public.test"], "guidance": mine},
        {"name": "coder", "match": {"source": [SRC_CODER + "/32"]}, "allow": ["public.test"]},
    ]})
    r = get_from(p.addr, "http://public2.test/echo", SRC_RESEARCH)
    [e] = p.wait_logs({"host": "public2.test"})
    assert_policy_denial(r, 403, "http_request_denied", host="public2.test", rule=e["rule"],
                         guidance=mine)
    assert top not in r.text(), "the agent's own guidance replaces the top-level one"
    r = get_from(p.addr, "http://public2.test/echo", SRC_CODER)
    assert_policy_denial(r, 403, "http_request_denied", host="public2.test", guidance=top)
    # The built-in block is a policy decision too, and carries the guidance.
    r = get_from(p.addr, "http://10.0.0.1/", SRC_CODER)
    assert_policy_denial(r, 403, "destination_ip_prohibited", guidance=top)


def test_407_body_carries_guidance(sluice):
    top = "Tokens live in the vault under agents/."
    p = sluice(config={"guidance": top, "agents": _token_agents_sha()})
    r = get_from(p.addr, "http://public.test/echo")
    assert r.status == 407
    assert top in r.text(), r
    assert re.search(r"policy", r.text(), re.I), r
