"""Issue 13: listen.dns, a resolver for agents under the same policy as their HTTP requests.
A name the agent may reach is resolved through sluice's resolver and answered with its global
addresses; a name outside the policy gets NXDOMAIN (or REFUSED) and the upstream DNS server
(the test's, dns_server.py) sees no query for it at all; answers that point inside are refused.
Every test runs in the suite's network namespace; the queries go to 127.0.0.1 only."""

import os
import re
import shutil
import socket
import struct
import subprocess
import time

import pytest

from dns_server import TYPE_A, TYPE_AAAA, encode_name, parse_response
from sluice_proc import free_port

FLAG_TC = 0x0200
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5


def dns_config(port, listen=None, **extra):
    cfg = {"listen": dict({"dns": "127.0.0.1:%d" % port}, **(listen or {})), "workers": 1,
           "allow": ["public.test", "both.test", "public6.test", "internal.test", "mixed.test",
                     "meta.test", "cname-meta.test", "cname-public.test", "*.many.test",
                     "nx.test", "rebind.test", "ula.test", "mapped6.test"]}
    cfg.update(extra)
    return cfg


def make_query(name, qtype=TYPE_A, qid=0x4242, edns=None, flags=0x0100):
    msg = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0)
    msg += encode_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        msg += b"\x00" + struct.pack("!HHIH", 41, edns, 0, 0)
    return msg


def ask(port, name, qtype=TYPE_A, tcp=False, src="127.0.0.1", edns=None, raw=None,
        timeout=2.0):
    """One query to sluice's DNS listener; the parsed reply (or None when none came)."""
    msg = raw if raw is not None else make_query(name, qtype, edns=edns)
    if tcp:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                      source_address=(src, 0)) as s:
            s.sendall(struct.pack("!H", len(msg)) + msg)
            head = s.recv(2)
            (n,) = struct.unpack("!H", head)
            resp = b""
            while len(resp) < n:
                resp += s.recv(n - len(resp))
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((src, 0))
            s.settimeout(timeout)
            s.sendto(msg, ("127.0.0.1", port))
            try:
                resp, _ = s.recvfrom(65535)
            except socket.timeout:
                return None
    return parse_response(resp) if len(resp) > 12 or raw is None else \
        {"rcode": resp[3] & 0xF, "flags": struct.unpack("!H", resp[2:4])[0], "answers": []}


def values(r, rtype):
    return sorted(v for (_, t, _, v) in r["answers"] if t == rtype)


@pytest.fixture
def dns_sluice(sluice, dns):
    def start(**extra):
        port = free_port()
        p = sluice(dns_config(port, **extra))
        p.dns_port = port
        return p
    yield start
    dns.reset()


def test_allowed_name_resolves_to_its_global_address(dns_sluice, dns):
    p = dns_sluice()
    r = ask(p.dns_port, "public.test")
    assert r["rcode"] == NOERROR and values(r, "A") == ["192.0.2.10"], r
    assert dns.queries("public.test") >= 1
    r6 = ask(p.dns_port, "both.test", TYPE_AAAA)
    assert values(r6, "AAAA") == ["2001:db8::10"], r6
    [line] = p.wait_logs({"kind": "dns", "name": "public.test"})
    assert line["decision"] == "allow" and line["rcode"] == "NOERROR", line
    assert line["type"] == "A" and line["answers"] == ["192.0.2.10"], line
    assert line["agent"] == "default" and line["transport"] == "udp", line


@pytest.mark.parametrize("name", [
    "c2VjcmV0IGRhdGEgZm9yIHRoZSBhdHRhY2tlcg.attacker.test",  # data in a label
    "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + ".exfil.test",  # long labels
    ".".join("x%d" % i for i in range(60)) + ".many-labels.test",  # many labels
    "blocked.test", "www.blocked.test",
])
def test_denied_name_gets_nxdomain_and_never_leaves(dns_sluice, dns, name):
    p = dns_sluice(deny=["*.blocked.test", "blocked.test"])
    before = dns.queries(name)
    for qtype in (TYPE_A, TYPE_AAAA):
        r = ask(p.dns_port, name, qtype)
        assert r["rcode"] == NXDOMAIN and r["answers"] == [], r
    r = ask(p.dns_port, name, tcp=True)
    assert r["rcode"] == NXDOMAIN, r
    time.sleep(0.2)
    assert dns.queries(name) == before == 0
    lines = p.wait_logs({"kind": "dns", "decision": "deny"}, count=3)
    assert len(lines) == 3 and all(l["rcode"] == "NXDOMAIN" for l in lines), lines


def test_denied_names_can_be_refused_instead(dns_sluice, dns):
    p = dns_sluice(dns={"denied": "refused"})
    r = ask(p.dns_port, "elsewhere.test")
    assert r["rcode"] == REFUSED, r
    assert dns.queries("elsewhere.test") == 0


@pytest.mark.parametrize("name,qtype", [
    ("internal.test", TYPE_A),      # 10.0.0.1
    ("meta.test", TYPE_A),          # 169.254.169.254
    ("mixed.test", TYPE_A),         # 192.0.2.10 and 10.0.0.1: the rebinding shape
    ("cname-meta.test", TYPE_A),    # a CNAME to the metadata address
    ("ula.test", TYPE_AAAA),        # fd00::1
    ("mapped6.test", TYPE_AAAA),    # ::ffff:169.254.169.254
])
def test_internal_or_mixed_answers_are_refused(dns_sluice, name, qtype):
    p = dns_sluice()
    r = ask(p.dns_port, name, qtype)
    assert r["rcode"] == REFUSED and r["answers"] == [], r
    [line] = p.wait_logs({"kind": "dns", "name": name})
    assert line["decision"] == "deny" and line["reason"] == "dns_internal_answer", line
    assert line["answers"] == []


def test_a_name_that_does_not_exist_is_not_answered_with_addresses(dns_sluice):
    p = dns_sluice()
    r = ask(p.dns_port, "nx.test")
    assert r["rcode"] == SERVFAIL and r["answers"] == [], r


def test_rate_limit_trips_per_agent(dns_sluice, dns):
    p = dns_sluice(dns={"rate": 5, "burst": 5})
    codes = [ask(p.dns_port, "public.test")["rcode"] for _ in range(20)]
    assert codes[:5] == [NOERROR] * 5, codes
    assert codes.count(REFUSED) >= 10, codes
    lines = p.wait_logs({"kind": "dns", "reason": "dns_rate_limited"}, count=10)
    assert len(lines) >= 10


# 16 AAAA records (the most sluice keeps per name) after a 61-byte name: 525 bytes, past the
# 512 of UDP without EDNS.
MANY = "x" * 50 + ".many.test"


def test_large_answer_truncates_over_udp_and_comes_whole_over_tcp(dns_sluice, dns):
    many = ["2001:db8::%x" % i for i in range(1, 17)]
    dns.set(MANY, aaaa=many)
    p = dns_sluice()
    udp = ask(p.dns_port, MANY, TYPE_AAAA)  # no EDNS: 512 bytes at most
    assert udp["flags"] & FLAG_TC and udp["answers"] == [], udp
    tcp = ask(p.dns_port, MANY, TYPE_AAAA, tcp=True)
    assert not tcp["flags"] & FLAG_TC and values(tcp, "AAAA") == sorted(many), tcp
    edns = ask(p.dns_port, MANY, TYPE_AAAA, edns=1232)
    assert not edns["flags"] & FLAG_TC and len(edns["answers"]) == 16, edns


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig (bind9-dnsutils) is not installed")
def test_dig_falls_back_to_tcp_for_a_large_answer(dns_sluice, dns):
    many = ["2001:db8::%x" % i for i in range(1, 17)]
    dns.set(MANY, aaaa=many)
    p = dns_sluice()
    out = subprocess.run(["dig", "+noedns", "+tries=1", "+time=2", "@127.0.0.1", "-p",
                          str(p.dns_port), MANY, "AAAA"], capture_output=True,
                         text=True, timeout=20).stdout
    assert "Truncated, retrying in TCP mode" in out, out
    assert "status: NOERROR" in out, out
    assert len(re.findall(r"\sIN\s+AAAA\s+2001:db8::", out)) == 16, out
    out = subprocess.run(["dig", "+tries=1", "+time=2", "@127.0.0.1", "-p", str(p.dns_port),
                          "exfil.elsewhere.test", "A"], capture_output=True, text=True,
                         timeout=20).stdout
    assert "status: NXDOMAIN" in out, out
    assert dns.queries("exfil.elsewhere.test") == 0


def test_garbage_gets_formerr_or_nothing_and_the_listener_goes_on(dns_sluice):
    p = dns_sluice()
    two_questions = struct.pack("!HHHHHH", 7, 0x0100, 2, 0, 0, 0) + \
        (encode_name("public.test") + struct.pack("!HH", 1, 1)) * 2
    r = ask(p.dns_port, None, raw=two_questions)
    assert r["rcode"] == FORMERR, r
    cut = make_query("public.test")[:-3]
    assert ask(p.dns_port, None, raw=cut)["rcode"] == FORMERR
    status = struct.pack("!HHHHHH", 8, 0x1000, 0, 0, 0, 0)  # opcode STATUS
    assert ask(p.dns_port, None, raw=status)["rcode"] == NOTIMP
    assert ask(p.dns_port, None, raw=b"\x01\x02\x03", timeout=0.5) is None  # too short
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(os.urandom(40), ("127.0.0.1", p.dns_port))
    # Garbage over TCP too: a frame of junk, then a real query on a new connection.
    with socket.create_connection(("127.0.0.1", p.dns_port), timeout=2) as s:
        s.sendall(struct.pack("!H", 30) + os.urandom(30))
        s.settimeout(2)
        try:
            s.recv(100)
        except socket.timeout:
            pass
    r = ask(p.dns_port, "public.test")
    assert r["rcode"] == NOERROR and values(r, "A") == ["192.0.2.10"], r
    assert p.proc.proc.poll() is None


def test_agents_are_known_by_source_address(dns_sluice, dns):
    p = dns_sluice(agents=[
        {"name": "research", "match": {"source": ["127.0.0.5/32"]}, "allow": ["public2.test"]},
        {"name": "default", "allow": []},
    ])
    r = ask(p.dns_port, "public2.test", src="127.0.0.5")
    assert values(r, "A") == ["198.51.100.10"], r
    assert ask(p.dns_port, "public2.test", src="127.0.0.1")["rcode"] == NXDOMAIN
    lines = p.wait_logs({"kind": "dns", "name": "public2.test"}, count=2)
    assert sorted((l["agent"], l["decision"]) for l in lines) == [
        ("default", "deny"), ("research", "allow")], lines


def test_report_mode_answers_and_logs_the_would_be_denial(dns_sluice, dns):
    p = dns_sluice(mode="report", allow=[])
    r = ask(p.dns_port, "public.test")
    assert values(r, "A") == ["192.0.2.10"], r
    [line] = p.wait_logs({"kind": "dns", "name": "public.test"})
    assert line["decision"] == "report", line


def test_ttl_is_capped(dns_sluice, dns):
    dns.set("public.test", a=["192.0.2.10"], ttl=86400)
    p = dns_sluice(dns={"max_ttl": "30s"})
    r = ask(p.dns_port, "public.test")
    assert r["answers"] and all(ttl <= 30 for (_, _, ttl, _) in r["answers"]), r


def test_tcp_connection_answers_pipelined_queries_in_order(dns_sluice):
    p = dns_sluice()
    msgs = [make_query(n, qid=i + 1) for i, n in enumerate(["public.test", "blocked.test",
                                                          "both.test"])]
    with socket.create_connection(("127.0.0.1", p.dns_port), timeout=3) as s:
        s.sendall(b"".join(struct.pack("!H", len(m)) + m for m in msgs))
        got = []
        for _ in msgs:
            (n,) = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))
            got.append(parse_response(s.recv(n, socket.MSG_WAITALL)))
    assert [g["rcode"] for g in got] == [NOERROR, NXDOMAIN, NOERROR], got


def test_metrics_count_queries_by_decision_and_type(dns_sluice):
    import urllib.request
    admin = free_port()
    p = dns_sluice(listen={"admin": "127.0.0.1:%d" % admin})
    ask(p.dns_port, "public.test")
    ask(p.dns_port, "elsewhere.test", TYPE_AAAA)
    time.sleep(0.2)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    text = opener.open("http://127.0.0.1:%d/metrics" % admin, timeout=3).read()
    text = text.decode()
    assert 'sluice_dns_queries_total{decision="allow",type="A"} 1' in text, text
    assert 'sluice_dns_queries_total{decision="deny",type="AAAA"} 1' in text, text


def test_repeated_name_is_answered_from_the_cache(dns_sluice, dns):
    """The answer comes from the resolver cache the HTTP side uses: asked again within its
    TTL, the name is not asked upstream again, and the TTL sent counts down."""
    dns.set("cached.public.test", a=["192.0.2.10"], ttl=300)
    p = dns_sluice(allow=["*.public.test"])
    first = ask(p.dns_port, "cached.public.test")
    n = dns.queries("cached.public.test")
    assert n >= 1 and values(first, "A") == ["192.0.2.10"], first
    for _ in range(5):
        again = ask(p.dns_port, "cached.public.test")
        assert values(again, "A") == ["192.0.2.10"], again
    assert dns.queries("cached.public.test") == n
    assert all(ttl <= 300 for (_, _, ttl, _) in again["answers"]), again
