"""Issue 13, item 1: records other than addresses. A CNAME question is answered with the
upstream's CNAME, HTTPS and SVCB with their records (hints judged, ech stripped), the types of
dns.types with theirs; every CNAME step and every TargetName is judged by name, so an answer
that leads to a denied name or to localhost is refused; TXT and other types are refused unless
dns.types lists them, and then no query for them leaves sluice. Each test counts the queries the
test's upstream DNS server saw. Queries go to 127.0.0.1 inside the suite's network namespace."""

import shutil
import struct
import subprocess

import pytest

from dns_server import TYPE_CNAME, TYPE_HTTPS, TYPE_MX, TYPE_SVCB, TYPE_TXT, encode_name
from sluice_proc import free_port
from test_dns_listener import NOERROR, NXDOMAIN, REFUSED, SERVFAIL, ask

ALLOW = ["public.test", "cname-public.test", "svc.test", "*.svc.test", "*.alias.test",
         "txt.test", "mx.test", "nx.test", "corrupt.test"]


def txt(*strings):
    return b"".join(bytes([len(s)]) + s for s in strings)


def svcb(priority, target, params):
    """SVCB/HTTPS RDATA: params is a list of (key, value bytes) in key order."""
    out = struct.pack("!H", priority) + encode_name(target)
    for key, value in params:
        out += struct.pack("!HH", key, len(value)) + value
    return out


ALPN_H2 = (1, b"\x02h2")
ECH = (5, b"\x00\x04ech!")


def v4hint(*addrs):
    return (4, b"".join(bytes(int(x) for x in a.split(".")) for a in addrs))


@pytest.fixture
def records_sluice(sluice, dns):
    def start(listen=None, **extra):
        port = free_port()
        cfg = {"listen": dict({"dns": "127.0.0.1:%d" % port}, **(listen or {})), "workers": 1,
               "allow": ALLOW, "deny": ["*.blocked.test"]}
        cfg.update(extra)
        p = sluice(cfg)
        p.dns_port = port
        return p
    yield start
    dns.reset()


def test_cname_question_gets_the_upstreams_cname(records_sluice, dns):
    p = records_sluice()
    r = ask(p.dns_port, "cname-public.test", TYPE_CNAME)
    assert r["rcode"] == NOERROR, r
    assert [(n, t, v) for (n, t, _, v) in r["answers"]] == \
        [("cname-public.test", "CNAME", "public.test")], r
    assert dns.queries("cname-public.test", "CNAME") == 1
    [line] = p.wait_logs({"kind": "dns", "type": "CNAME"})
    assert line["decision"] == "allow" and line["answers"] == ["CNAME"], line


@pytest.mark.parametrize("target,reason,rule", [
    ("x.blocked.test", "domain_denied", "cname x.blocked.test: deny: *.blocked.test"),
    ("localhost", "loopback_name", "cname localhost: builtin: loopback name localhost"),
    ("db.localhost", "loopback_name", "cname db.localhost: builtin: loopback name *.localhost"),
])
def test_cname_to_a_denied_name_is_refused(records_sluice, dns, target, reason, rule):
    """A name the agent may ask for, whose CNAME leads where the policy refuses."""
    p = records_sluice(dns={"types": ["TXT"]})
    dns.set("bad.alias.test", cname=target)
    dns.set(target, records={TYPE_TXT: [txt(b"data")]})
    for qtype in (TYPE_CNAME, TYPE_TXT):
        r = ask(p.dns_port, "bad.alias.test", qtype)
        assert r["rcode"] != NOERROR and r["answers"] == [], r
    lines = p.wait_logs({"kind": "dns", "name": "bad.alias.test"}, count=2)
    assert len(lines) == 2, lines
    for line in lines:
        assert line["decision"] == "deny" and line["reason"] == reason, line
        assert line["rule"].startswith(rule), line


def test_cname_step_to_a_denied_name_reports_in_report_mode(records_sluice, dns):
    p = records_sluice(mode="report", dns={"types": ["TXT"]})
    dns.set("rep.alias.test", cname="x.blocked.test")
    dns.set("x.blocked.test", records={TYPE_TXT: [txt(b"hello")]})
    r = ask(p.dns_port, "rep.alias.test", TYPE_TXT)
    assert r["rcode"] == NOERROR, r
    assert [(t, v) for (_, t, _, v) in r["answers"]] == \
        [("CNAME", "x.blocked.test"), ("TXT", txt(b"hello"))], r
    [line] = p.wait_logs({"kind": "dns", "name": "rep.alias.test"})
    assert line["decision"] == "report" and line["reason"] == "domain_denied", line


def test_txt_is_refused_unless_listed_and_never_asked(records_sluice, dns):
    dns.set("txt.test", records={TYPE_TXT: [txt(b"v=spf1 -all")]})
    p = records_sluice()
    r = ask(p.dns_port, "txt.test", TYPE_TXT)
    assert r["rcode"] == REFUSED and r["answers"] == [], r
    assert dns.queries("txt.test") == 0
    [line] = p.wait_logs({"kind": "dns", "name": "txt.test"})
    assert line["reason"] == "dns_type" and line["rule"] == "dns.types: TXT not listed", line


def test_listed_types_are_answered_with_the_upstreams_records(records_sluice, dns):
    dns.set("txt.test", ttl=86400, records={TYPE_TXT: [txt(b"one"), txt(b"two", b"three")]})
    dns.set("mx.test", records={TYPE_MX: [struct.pack("!H", 10) + encode_name("mail.mx.test")]})
    p = records_sluice(dns={"types": ["TXT", "MX"], "max_ttl": "120s"})
    r = ask(p.dns_port, "txt.test", TYPE_TXT)
    assert r["rcode"] == NOERROR, r
    assert sorted(v for (_, t, _, v) in r["answers"] if t == "TXT") == \
        sorted([txt(b"one"), txt(b"two", b"three")]), r
    assert all(ttl == 120 for (_, _, ttl, _) in r["answers"]), r  # capped at dns.max_ttl
    r = ask(p.dns_port, "mx.test", TYPE_MX, tcp=True)
    assert [v for (_, t, _, v) in r["answers"]] == \
        [struct.pack("!H", 10) + encode_name("mail.mx.test")], r
    assert dns.queries("txt.test", "TXT") == 1 and dns.queries("mx.test", "MX") == 1


def test_upstream_nxdomain_is_passed_on(records_sluice, dns):
    p = records_sluice(dns={"types": ["TXT"]})
    r = ask(p.dns_port, "nx.test", TYPE_TXT)
    assert r["rcode"] == NXDOMAIN and r["answers"] == [], r


def test_a_response_sluice_cannot_read_is_servfail(records_sluice, dns):
    dns.set("corrupt.test", corrupt=True, records={TYPE_TXT: [txt(b"x")]})
    p = records_sluice(dns={"types": ["TXT"]})
    r = ask(p.dns_port, "corrupt.test", TYPE_TXT)
    assert r["rcode"] == SERVFAIL and r["answers"] == [], r
    [line] = p.wait_logs({"kind": "dns", "name": "corrupt.test"})
    assert line["decision"] == "error" and line["reason"] == "dns_error", line


def test_https_record_is_answered_with_ech_stripped(records_sluice, dns):
    dns.set("svc.test", records={TYPE_HTTPS: [
        svcb(1, "", [ALPN_H2, v4hint("192.0.2.10"), ECH])]})
    p = records_sluice()
    r = ask(p.dns_port, "svc.test", TYPE_HTTPS)
    assert r["rcode"] == NOERROR, r
    assert [v for (_, t, _, v) in r["answers"]] == \
        [svcb(1, "", [ALPN_H2, v4hint("192.0.2.10")])], r
    [line] = p.wait_logs({"kind": "dns", "name": "svc.test"})
    assert line["decision"] == "allow" and line["answers"] == ["HTTPS"], line


def test_https_record_that_needs_ech_is_left_out(records_sluice, dns):
    mandatory_ech = (0, b"\x00\x05")
    dns.set("ech.svc.test", records={TYPE_HTTPS: [
        svcb(1, "", [mandatory_ech, ALPN_H2, ECH]), svcb(2, "", [ALPN_H2])]})
    p = records_sluice()
    r = ask(p.dns_port, "ech.svc.test", TYPE_HTTPS)
    assert r["rcode"] == NOERROR, r
    assert [v for (_, t, _, v) in r["answers"]] == [svcb(2, "", [ALPN_H2])], r


@pytest.mark.parametrize("hints", [["10.0.0.1"], ["192.0.2.10", "169.254.169.254"]])
def test_https_with_an_internal_hint_is_refused(records_sluice, dns, hints):
    dns.set("int.svc.test", records={TYPE_HTTPS: [svcb(1, "", [ALPN_H2, v4hint(*hints)])]})
    p = records_sluice()
    r = ask(p.dns_port, "int.svc.test", TYPE_HTTPS)
    assert r["rcode"] == REFUSED and r["answers"] == [], r
    [line] = p.wait_logs({"kind": "dns", "name": "int.svc.test"})
    assert line["reason"] == "dns_internal_answer", line


@pytest.mark.parametrize("target", ["localhost", "svc.blocked.test"])
def test_svcb_target_is_judged_by_name(records_sluice, dns, target):
    dns.set("alias.svc.test", records={TYPE_SVCB: [svcb(0, target, [])]})
    p = records_sluice()
    r = ask(p.dns_port, "alias.svc.test", TYPE_SVCB)
    assert r["rcode"] != NOERROR and r["answers"] == [], r
    [line] = p.wait_logs({"kind": "dns", "name": "alias.svc.test"})
    assert line["rule"].startswith("target %s: " % target), line


def test_proxy_mode_answers_https_with_no_record_and_asks_nobody(records_sluice, dns):
    dns.set("svc.test", records={TYPE_HTTPS: [svcb(1, "", [ALPN_H2, ECH])]})
    p = records_sluice(dns={"answer": "proxy"},
                       listen={"transparent_http": "127.0.0.1:%d" % free_port()})
    for qtype in (TYPE_HTTPS, TYPE_SVCB, TYPE_CNAME):
        r = ask(p.dns_port, "svc.test", qtype)
        assert r["rcode"] == NOERROR and r["answers"] == [], r
    assert dns.queries("svc.test") == 0


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig (bind9-dnsutils) is not installed")
def test_dig_reads_the_https_answer(records_sluice, dns):
    dns.set("svc.test", records={TYPE_HTTPS: [
        svcb(1, "", [ALPN_H2, v4hint("192.0.2.10"), ECH])]})
    p = records_sluice()
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(p.dns_port), "+short", "+tries=1",
                          "+time=2", "svc.test", "HTTPS"],
                         capture_output=True, text=True, timeout=10).stdout
    assert out.strip() == '1 . alpn="h2" ipv4hint=192.0.2.10', out
