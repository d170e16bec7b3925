"""Configured policy: domain allow/deny, ports, ips.deny, and proxy-loop detection."""

import pytest

from checks import assert_log_line, assert_refused
from client import RawConn, connect_req, get


def test_denied_domain_gets_403_naming_host_and_rule(sluice, origins, dns):
    p = sluice(config={"deny": ["public.test"]})
    n0 = origins.hits("192.0.2.10")
    r = get(p.addr, "http://public.test/echo")
    assert_refused(r, 403, "http_request_denied", host="public.test")
    assert "public.test" in r.text()
    assert origins.hits("192.0.2.10") == n0
    [e] = p.wait_logs({"host": "public.test"})
    assert_log_line(e, decision="deny", reason="domain_denied", status=403)
    assert "public.test" in e["rule"]
    assert e["rule"] in r.text(), "body does not name the rule %r: %r" % (e["rule"], r.text())


def test_denied_domain_is_not_resolved(sluice, dns):
    """The decision by name comes before DNS: a denied name is never looked up."""
    p = sluice(config={"deny": ["public.test"]})
    assert get(p.addr, "http://public.test/echo").status == 403
    assert dns.queries("public.test") == 0


def test_wildcard_deny_matches_subdomains(sluice, origins):
    p = sluice(config_yaml_extra='deny:\n  - "*.blocked.test"\n')
    n0 = origins.hits("192.0.2.10")
    r = get(p.addr, "http://www.blocked.test/echo")
    assert_refused(r, 403, "http_request_denied", host="www.blocked.test")
    assert origins.hits("192.0.2.10") == n0
    [e] = p.wait_logs({"host": "www.blocked.test"})
    assert_log_line(e, reason="domain_denied")
    assert "*.blocked.test" in e["rule"]
    assert get(p.addr, "http://public.test/echo").status == 200


def test_deny_matches_after_case_and_trailing_dot_normalisation(sluice, origins):
    p = sluice(config={"deny": ["public.test", "*.blocked.test"]})
    n0 = origins.hits("192.0.2.10")
    for url in ("http://PUBLIC.TEST/echo", "http://public.test./echo",
                "http://WWW.Blocked.Test./echo"):
        r = get(p.addr, url)
        assert_refused(r, 403, "http_request_denied")
    assert origins.hits("192.0.2.10") == n0


def test_deny_wins_over_allow(sluice, origins):
    p = sluice(config={"allow": ["public.test", "*.blocked.test"],
                       "deny": ["www.blocked.test"]})
    r = get(p.addr, "http://www.blocked.test/echo")
    assert_refused(r, 403, "http_request_denied")
    [e] = p.wait_logs({"host": "www.blocked.test"})
    assert_log_line(e, reason="domain_denied")


def test_name_outside_allow_list_is_denied(sluice, origins, dns):
    p = sluice(config={"allow": ["public.test"]})
    n0 = origins.hits("198.51.100.10")
    r = get(p.addr, "http://public2.test/echo")
    assert_refused(r, 403, "http_request_denied", host="public2.test")
    assert origins.hits("198.51.100.10") == n0
    [e] = p.wait_logs({"host": "public2.test"})
    assert_log_line(e, decision="deny", reason="domain_not_allowed", status=403)
    assert get(p.addr, "http://public.test/echo").status == 200


def test_allow_list_applies_to_ip_literals(sluice, origins):
    p = sluice(config={"allow": ["public.test"]})
    n0 = origins.hits("198.51.100.10")
    r = get(p.addr, "http://198.51.100.10/echo")
    assert_refused(r, 403, "http_request_denied")
    assert origins.hits("198.51.100.10") == n0


def test_domain_deny_applies_to_connect(sluice, canaries):
    p = sluice(config={"deny": ["public.test"]})
    before = canaries.snapshot()
    with RawConn(p.addr) as c:
        c.send(connect_req("public.test:443"))
        r = c.read_response("CONNECT")
    assert_refused(r, 403, "http_request_denied")
    canaries.assert_unchanged(before, also=[("192.0.2.10", 443)])


def test_port_not_allowed_is_denied(proxy, canaries):
    before = canaries.snapshot()
    r = get(proxy.addr, "http://public.test:8080/echo")
    assert_refused(r, 403, "http_request_denied", host="public.test")
    canaries.assert_unchanged(before, also=[("192.0.2.10", 8080)])
    [e] = proxy.wait_logs({"host": "public.test"})
    assert_log_line(e, decision="deny", reason="port_not_allowed", port=8080, status=403)


def test_port_not_allowed_for_ip_literal(proxy, canaries):
    before = canaries.snapshot()
    r = get(proxy.addr, "http://198.51.100.10:8080/echo")
    assert_refused(r, 403, "http_request_denied")
    canaries.assert_unchanged(before, also=[("198.51.100.10", 8080)])


def test_internal_address_denied_even_on_allowed_extra_port(sluice, canaries):
    p = sluice(config={"ports": [80, 443, 8080]})
    before = canaries.snapshot()
    r = get(p.addr, "http://169.254.169.254:8080/")
    assert_refused(r, 403, "destination_ip_prohibited")
    canaries.assert_unchanged(before)


def test_ips_deny_blocks_literal_and_resolved_address(sluice, origins):
    p = sluice(config={"ips": {"deny": ["198.51.100.0/24"]}})
    n0 = origins.hits("198.51.100.10")
    for url, host in (("http://198.51.100.10/echo", "198.51.100.10"),
                      ("http://public2.test/echo", "public2.test")):
        r = get(p.addr, url)
        assert_refused(r, 403, "destination_ip_prohibited")
        [e] = p.wait_logs({"host": host})
        assert_log_line(e, decision="deny", reason="ip_denied", status=403)
    assert origins.hits("198.51.100.10") == n0
    assert get(p.addr, "http://public.test/echo").status == 200


def test_ips_deny_wins_over_ips_allow(sluice, origins):
    p = sluice(config={"ips": {"allow": ["192.0.2.0/24", "198.51.100.0/24"],
                               "deny": ["198.51.100.10/32"]}})
    n0 = origins.hits("198.51.100.10")
    r = get(p.addr, "http://198.51.100.10/echo")
    assert_refused(r, 403, "destination_ip_prohibited")
    assert origins.hits("198.51.100.10") == n0


def test_ips_deny_ipv6(sluice, origins):
    p = sluice(config={"ips": {"deny": ["2001:db8::/64"]}})
    n0 = origins.hits("2001:db8::10")
    for url in ("http://[2001:db8::10]/echo", "http://public6.test/echo"):
        assert_refused(get(p.addr, url), 403, "destination_ip_prohibited")
    assert origins.hits("2001:db8::10") == n0


def test_documentation_range_is_non_global_unless_reallowed(sluice, origins, canaries):
    """The test config's ips.allow is what makes 192.0.2.0/24 reachable at all."""
    p = sluice(config={"ips": {"allow": ["198.51.100.0/24"]}})
    n0 = origins.hits("192.0.2.10")
    r = get(p.addr, "http://public.test/echo")
    assert_refused(r, 403, "destination_ip_prohibited")
    assert origins.hits("192.0.2.10") == n0
    [e] = p.wait_logs({"host": "public.test"})
    assert_log_line(e, reason="ip_non_global")


# ---- proxy loops --------------------------------------------------------------------------

LOOP_CONFIG = {"ips": {"allow": ["192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32",
                                 "127.0.0.0/8"]},
               "ports": ["*"]}


@pytest.mark.parametrize("how", ["literal", "name", "connect"])
def test_request_to_own_listen_address_is_a_proxy_loop(sluice, how):
    p = sluice(config=LOOP_CONFIG)
    if how == "literal":
        r = get(p.addr, "http://127.0.0.1:%d/" % p.port)
    elif how == "name":
        r = get(p.addr, "http://self.test:%d/" % p.port)
    else:
        with RawConn(p.addr) as c:
            c.send(connect_req("127.0.0.1:%d" % p.port))
            r = c.read_response("CONNECT")
    assert_refused(r, 403, "proxy_loop_detected")
    entries = p.wait_logs(count=1)
    assert_log_line(entries[0], decision="deny", reason="proxy_loop", status=403)
    # One request, one line: sluice did not talk to itself.
    assert len(p.logs()) == 1, p.logs()


def test_request_to_wildcard_listener_via_local_address_is_a_proxy_loop(sluice):
    p = sluice(config=LOOP_CONFIG, listen_hosts=("0.0.0.0",))
    addr = ("127.0.0.1", p.port)
    r = get(addr, "http://192.0.2.10:%d/" % p.port)
    assert_refused(r, 403, "proxy_loop_detected")


def test_reallowed_loopback_other_port_is_not_a_loop(sluice, canaries):
    """Re-allowing 127.0.0.0/8 is an operator's choice; only sluice's own address is a loop."""
    p = sluice(config=LOOP_CONFIG)
    r = get(p.addr, "http://127.0.0.2:8080/")
    assert r.status == 200 and r.body == b"INTERNAL-SECRET"
