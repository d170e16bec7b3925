"""Issue 13, item 4: DNS and HTTP never disagree on where a name points. Every worker resolves
through one cache for the process, and the first answer for a name is the one every worker
hands out while it lives: the address sluice's DNS listener gave an agent is the one sluice
connects to for that name, whichever worker takes the connection, and the upstream DNS server
is asked once. A reload that changes resolver.servers empties that cache, so nothing the old
servers said is handed out after it, not even by a lookup that was in flight.

The test's DNS server answers the rotating names with another address on every query, so
two workers resolving on their own would disagree. The log line's id tells the worker that
wrote it ((id - 1) % workers, io/worker.c)."""

import threading
import time

import pytest

from agents_util import config_text, reload
from client import get
from dns_server import DNSServer, query
from sluice_proc import free_port

A, B = "192.0.2.10", "198.51.100.10"  # two origins on port 80 (conftest.py)
WORKERS = 2


def ask(port, name):
    """The A addresses sluice's DNS listener answers for name."""
    r = query(name, server=("127.0.0.1", port), timeout=3.0)
    assert r["rcode"] == 0, r
    return sorted(v for (_, t, _, v) in r["answers"] if t == "A")


def worker_of(line):
    return (line["id"] - 1) % WORKERS


@pytest.fixture
def dns_port():
    return free_port()


def start(sluice, dns_port, allow, **extra):
    cfg = {"workers": WORKERS, "listen": {"dns": "127.0.0.1:%d" % dns_port}, "allow": allow}
    cfg.update(extra)
    return sluice(config=cfg)


def fetch_many(p, name, n=24):
    """n requests for http://name/echo, each on a new client connection (the kernel spreads
    them over the workers' listening sockets)."""
    mark = p.log_mark()
    statuses = [get(p.addr, "http://%s/echo" % name).status for _ in range(n)]
    assert statuses == [200] * n, statuses
    return p.wait_logs({"host": name, "decision": "allow"}, count=n, since=mark)


def test_dns_answer_is_where_every_worker_connects(sluice, dns, origins, dns_port):
    name = "rotating.test"
    dns.set(name, rotate_a=[[A], [B]], ttl=300)
    p = start(sluice, dns_port, [name])
    [answered] = ask(dns_port, name)
    other = B if answered == A else A
    [dns_line] = p.wait_logs({"kind": "dns", "name": name})
    before = {ip: origins.requests(ip) for ip in (A, B)}
    lines = fetch_many(p, name)
    assert {l["ip"] for l in lines} == {answered}, [(l["ip"], worker_of(l)) for l in lines]
    # The point of the test: connections on the worker that did not answer the query too.
    assert worker_of(dns_line) in {worker_of(l) for l in lines}
    assert {worker_of(l) for l in lines} == set(range(WORKERS)), [l["id"] for l in lines]
    assert origins.requests(answered) - before[answered] == len(lines)
    assert origins.requests(other) == before[other]
    assert dns.queries(name, "A") == 1
    # And the DNS listener keeps answering the same, from any worker.
    for _ in range(8):
        assert ask(dns_port, name) == [answered]
    assert dns.queries(name, "A") == 1


def test_http_first_then_dns_agree(sluice, dns, dns_port):
    """The other way round: HTTP resolves first (on whichever workers), the DNS listener
    answers what they connect to."""
    name = "rotating2.test"
    dns.set(name, rotate_a=[[A], [B]], ttl=300)
    p = start(sluice, dns_port, [name])
    lines = fetch_many(p, name, n=12)
    ips = {l["ip"] for l in lines}
    assert len(ips) == 1, [(l["ip"], worker_of(l)) for l in lines]
    [connected] = ips
    for _ in range(6):
        assert ask(dns_port, name) == [connected]
    assert dns.queries(name, "A") == 1


def test_concurrent_lookups_of_a_name_share_one_query(sluice, dns, dns_port):
    """Requests for a name nobody has resolved yet, arriving together on one worker, wait for
    one upstream query, not one each."""
    name = "burst.test"
    dns.set(name, a=[A], ttl=300, delay=0.5)
    p = start(sluice, dns_port, [name], workers=1)
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(
        get(p.addr, "http://%s/echo" % name).status)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert statuses == [200] * 6, statuses
    assert dns.queries(name, "A") == 1


@pytest.fixture
def second_dns():
    """Another upstream DNS server, the one a reload moves sluice to."""
    srv = DNSServer(host="127.0.0.1", port=free_port()).start()
    yield srv
    srv.stop()


def servers(port):
    return {"resolver": {"servers": ["127.0.0.1:%d" % port]}}


def test_reload_to_other_servers_drops_their_answers(sluice, dns, second_dns, dns_port):
    name = "moved.test"
    dns.set(name, a=[A], ttl=300)
    second_dns.set(name, a=[B], ttl=300)
    p = start(sluice, dns_port, [name])
    assert ask(dns_port, name) == [A]
    assert {l["ip"] for l in fetch_many(p, name, n=8)} == {A}
    # A reload that leaves the servers alone keeps the cache.
    reload(p, config_text(p, {"dns": {"max_ttl": "200s"}}))
    assert ask(dns_port, name) == [A]
    assert dns.queries(name, "A") == 1
    out = reload(p, config_text(p, servers(second_dns.port)))
    assert "DNS cache is emptied" in out, out
    assert ask(dns_port, name) == [B]
    lines = fetch_many(p, name, n=12)
    assert {l["ip"] for l in lines} == {B}, lines
    assert {worker_of(l) for l in lines} == set(range(WORKERS))
    assert second_dns.queries(name, "A") == 1
    assert dns.queries(name, "A") == 1


def test_reload_asks_a_lookup_in_flight_again_at_the_new_servers(sluice, dns, second_dns,
                                                                 dns_port):
    """c-ares refuses new servers while a query is pending: the lookup in flight is asked
    again at the new servers, and what the old ones answer late is neither used nor kept."""
    name = "slow-moved.test"
    dns.set(name, a=[A], ttl=300, delay=1.5)
    second_dns.set(name, a=[B], ttl=300)
    p = start(sluice, dns_port, [name, "public.test"], workers=1, timeouts={"dns": "5s"})
    got = {}

    def fetch():
        got["r"] = get(p.addr, "http://%s/echo" % name)

    t = threading.Thread(target=fetch)
    t.start()
    deadline = time.monotonic() + 3
    while dns.queries(name, "A") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert dns.queries(name, "A") == 1
    reload(p, config_text(p, servers(second_dns.port)))
    t.join(10)
    assert got["r"].status == 200, got["r"]
    [line] = p.wait_logs({"host": name, "decision": "allow"})
    assert line["ip"] == B, line
    time.sleep(1.6)  # the old server's late answer has come and gone
    assert ask(dns_port, name) == [B]
    assert second_dns.queries(name, "A") == 1
    # The new servers answer everything from now on.
    assert ask(dns_port, "public.test") == ["192.0.2.10"]
    assert second_dns.queries("public.test", "A") == 1
    assert dns.queries("public.test", "A") == 0


def test_reload_asks_a_typed_query_in_flight_again_at_the_new_servers(sluice, dns, second_dns,
                                                                      dns_port):
    """The same for a query the DNS listener passes on by type (CNAME here), which is not
    cached: it is answered by the new servers, not failed."""
    name = "slow-alias.test"
    dns.set(name, cname="public.test", delay=1.5)
    second_dns.set(name, cname="public2.test")
    p = start(sluice, dns_port, [name], workers=1, timeouts={"dns": "5s"})
    got = {}

    def resolve():
        got["r"] = query(name, "CNAME", server=("127.0.0.1", dns_port), timeout=5.0)

    t = threading.Thread(target=resolve)
    t.start()
    deadline = time.monotonic() + 3
    while dns.queries(name, "CNAME") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert dns.queries(name, "CNAME") == 1
    reload(p, config_text(p, servers(second_dns.port)))
    t.join(10)
    r = got["r"]
    assert r["rcode"] == 0, r
    assert [(t, v) for (_, t, _, v) in r["answers"]] == [("CNAME", "public2.test")], r
    assert second_dns.queries(name, "CNAME") == 1
