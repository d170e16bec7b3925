"""Health and metrics (issue 6, item 5): the listen.admin listener answers /healthz, /readyz and
/metrics (Prometheus text format 0.0.4) — requests and tunnels by agent, decision and reason,
bytes, open connections, DNS and connect latency histograms, reloads and the policy
generation — never proxies anything, and does not exist unless configured."""

import os
import re
import socket
import subprocess
import time

from agents_util import SRC_CODER, SourceConn, config_text, get_from, reload
from client import RawConn, connect_req, get, request, tunnel_roundtrip
from fake_servers import listening_on
from sluice_proc import free_port, merge, to_yaml, BASE_CONFIG

AGENTS = [
    {"name": "coder", "match": {"source": [SRC_CODER + "/32"]}, "allow": ["public.test"]},
    {"name": "default", "allow": ["*"]},
]

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(?:,|$)')


def start_with_admin(sluice, config=None):
    port = free_port()
    p = sluice(config=merge({"listen": {"admin": "127.0.0.1:%d" % port}}, config or {}))
    deadline = time.monotonic() + 5
    while not listening_on("127.0.0.1", port):
        assert time.monotonic() < deadline, "admin listener never came up:\n" + p.stderr()
        time.sleep(0.02)
    p.admin = ("127.0.0.1", port)
    return p


def admin_get(p, path, method="GET"):
    data = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (method, path, p.admin[1])).encode()
    return request(p.admin, data, method)


def parse_exposition(text):
    """{(name, frozenset(labels)): value}, checking the text format on the way: every sample
    belongs to a family declared by # TYPE before it, every line is well formed."""
    types, samples = {}, {}
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
            continue
        m = SAMPLE.match(line)
        assert m, "malformed exposition line %r" % line
        name, labels_text, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, "sample %r before its # TYPE" % line
        labels = {}
        rest = labels_text or ""
        while rest:
            lm = LABEL.match(rest)
            assert lm, "malformed labels in %r" % line
            labels[lm.group(1)] = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1),
                                                                              e.group(1)),
                                         lm.group(2))
            rest = rest[lm.end():]
        key = (name, frozenset(labels.items()))
        assert key not in samples, "duplicate sample %r" % line
        samples[key] = float(value)
    assert text.endswith("\n")
    return types, samples


def scrape(p):
    r = admin_get(p, "/metrics")
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/plain; version=0.0.4"), r
    return parse_exposition(r.text())[1]


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def histogram(samples, name):
    buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in samples.items()
                      if k[0] == name + "_bucket"), key=lambda b: b[0])
    return buckets, value(samples, name + "_count"), value(samples, name + "_sum")


def wait_metric(p, name, want, timeout=3.0, **labels):
    deadline = time.monotonic() + timeout
    while True:
        got = value(scrape(p), name, **labels)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


# ---- health and readiness -------------------------------------------------------------------

def test_healthz_and_readyz(sluice):
    p = start_with_admin(sluice)
    r = admin_get(p, "/healthz")
    assert (r.status, r.text()) == (200, "ok\n"), r
    r = admin_get(p, "/readyz")
    assert (r.status, r.text()) == (200, "ready\n"), r
    assert r.header("Connection") == "close"
    r = admin_get(p, "/readyz?verbose=1")
    assert r.status == 200, r
    r = admin_get(p, "/healthz", method="HEAD")
    assert r.status == 200 and r.body == b"" and r.header("Content-Length") == "3", r
    assert "admin (health, readiness, metrics) on http://127.0.0.1:%d" % p.admin[1] in p.stderr()


def test_admin_absent_by_default(sluice):
    p = sluice(config={"workers": 1})
    assert "admin" not in p.stderr()
    # Exactly the proxy's listening socket: no other port is open in sluice.
    assert sluice_listening_sockets(p.proc.proc.pid) == 1


def sluice_listening_sockets(pid):
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in f.readlines()[1:]:
                cols = row.split()
                if cols[3] == "0A" and cols[9] in inodes:
                    n += 1
    return n


# ---- not a proxy ----------------------------------------------------------------------------

def test_admin_port_refuses_proxy_requests(sluice, origins):
    p = start_with_admin(sluice)
    n0 = origins.hits("192.0.2.10")
    r = get(p.admin, "http://public.test/echo")
    assert r.status == 404, r
    assert "not a proxy" in r.text()
    with RawConn(p.admin) as c:
        c.send(connect_req("public.test:443"))
        r = c.read_response("CONNECT")
    assert r.status == 404, r
    assert origins.hits("192.0.2.10") == n0
    p.quiesce()
    assert p.logs() == [], "the admin listener wrote decision log lines"


def test_admin_other_methods_and_paths(sluice):
    p = start_with_admin(sluice)
    r = admin_get(p, "/metrics", method="POST")
    assert r.status == 405 and r.header("Allow") == "GET, HEAD", r
    # / is the console's page (test_console_page.py); other paths are not found.
    assert admin_get(p, "/", method="GET").status == 200
    assert admin_get(p, "/nothing").status == 404
    assert admin_get(p, "/metricsx").status == 404
    assert admin_get(p, "/healthz/").status == 404
    r = request(p.admin, b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    assert r.status == 400, r
    r = request(p.admin, b"GET /healthz HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 9000 + b"\r\n\r\n")
    assert r.status == 431, r
    # The listener still answers after all of that.
    assert admin_get(p, "/healthz").status == 200


def test_proxy_refuses_requests_to_the_admin_address(sluice):
    """Even where loopback is re-allowed, an agent cannot reach the admin listener through the
    proxy: it is one of sluice's own listeners."""
    p = start_with_admin(sluice, {"ips": {"allow": BASE_CONFIG["ips"]["allow"] + ["127.0.0.0/8"]},
                                  "ports": ["*"]})
    r = get(p.addr, "http://127.0.0.1:%d/metrics" % p.admin[1])
    assert r.status == 403, r
    [e] = p.wait_logs({"port": p.admin[1]})
    assert e["reason"] == "proxy_loop", e


def test_admin_port_taken_fails_start(sluice_bin, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        cfg = merge(BASE_CONFIG, {"listen": {"http": "127.0.0.1:%d" % free_port(),
                                             "admin": "127.0.0.1:%d" % port}})
        path = tmp_path / "taken.yaml"
        path.write_text(to_yaml(cfg) + "\n")
        proc = subprocess.run([sluice_bin, "-c", str(path)], capture_output=True, timeout=10,
                              stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc
    assert b"cannot listen on 127.0.0.1:%d (listen.admin)" % port in proc.stderr, proc.stderr


# ---- metrics --------------------------------------------------------------------------------

def test_metrics_by_agent_decision_and_reason(sluice, origins):
    p = start_with_admin(sluice, {"agents": AGENTS})
    before = scrape(p)
    assert value(before, "sluice_policy_generation") == 1
    assert value(before, "sluice_workers") >= 1
    for _ in range(2):
        assert get_from(p.addr, "http://public.test/echo", SRC_CODER).status == 200
    assert get_from(p.addr, "http://public2.test/echo", SRC_CODER).status == 403
    assert get_from(p.addr, "http://internal.test/", "127.0.0.1").status == 403
    payload = b"tunnel-bytes\n" * 100
    with SourceConn(p.addr, SRC_CODER) as c:
        c.send(connect_req("public.test:443"))
        assert c.read_response("CONNECT").status == 200
        assert tunnel_roundtrip(c, payload) == payload
    p.quiesce()
    logs = p.logs()
    assert len(logs) == 5, logs
    m = scrape(p)

    req = "sluice_requests_total"
    assert value(m, req, agent="coder", decision="allow", reason="allowed") == 3
    assert value(m, req, agent="coder", decision="deny", reason="domain_not_allowed") == 1
    assert value(m, req, agent="default", decision="deny", reason="ip_non_global") == 1
    assert sum(v for k, v in m.items() if k[0] == req) == len(logs)
    tun = "sluice_tunnels_total"
    assert value(m, tun, agent="coder", decision="allow", reason="allowed") == 1
    assert sum(v for k, v in m.items() if k[0] == tun) == 1
    # Bytes: what the log lines say, summed by agent; the tunnel's echo both ways.
    for agent in ("coder", "default"):
        for d in ("up", "down"):
            want = sum(e["bytes_" + d] for e in logs if e["agent"] == agent)
            assert value(m, "sluice_bytes_%s_total" % d, agent=agent) == want, (agent, d)
    assert value(m, "sluice_bytes_up_total", agent="coder") >= len(payload)
    assert value(m, "sluice_bytes_down_total", agent="coder") >= len(payload)
    # Every client connection was counted, and all are closed again.
    assert value(m, "sluice_connections_total") == 5
    assert value(m, "sluice_connections_open") == 0
    assert value(m, "sluice_metrics_dropped_series_total") == 0


def test_latency_histograms(sluice, dns):
    p = start_with_admin(sluice)
    assert get(p.addr, "http://public.test/echo").status == 200
    assert get(p.addr, "http://refused.test/").status == 502
    m = scrape(p)
    for name, least in (("sluice_dns_lookup_duration_seconds", 2),
                        ("sluice_upstream_connect_duration_seconds", 2)):
        buckets, count, total = histogram(m, name)
        assert count >= least, (name, buckets)
        les = [le for le, _ in buckets]
        assert les == sorted(les) and les[-1] == float("inf"), les
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), "buckets are not cumulative: %r" % buckets
        assert counts[-1] == count
        assert 0 <= total < 10 * count, (name, total)
    # A slow DNS answer lands above the fast buckets.
    dns.set("slow.test", a=["192.0.2.10"], delay=0.3)
    assert get(p.addr, "http://slow.test/echo").status == 200
    buckets, count, _ = histogram(scrape(p), "sluice_dns_lookup_duration_seconds")
    below = dict(buckets)
    assert below[0.25] < count, buckets


def test_open_connections_gauge(sluice):
    p = start_with_admin(sluice)
    p.quiesce()
    with RawConn(p.addr):
        assert wait_metric(p, "sluice_connections_open", 1) == 1
    assert wait_metric(p, "sluice_connections_open", 0) == 0


def test_reloads_and_policy_generation(sluice):
    p = start_with_admin(sluice, {"allow": ["public.test"]})
    m = scrape(p)
    assert value(m, "sluice_policy_generation") == 1
    assert value(m, "sluice_reloads_total", result="ok") == 0
    reload(p, config_text(p, {"allow": ["public2.test"]}))
    m = scrape(p)
    assert value(m, "sluice_policy_generation") == 2
    assert value(m, "sluice_reloads_total", result="ok") == 1
    reload(p, "allow: [\n", expect="refused")
    m = scrape(p)
    assert value(m, "sluice_policy_generation") == 2
    assert value(m, "sluice_reloads_total", result="failed") == 1
    reload(p, config_text(p, {"allow": ["public.test"]}))
    m = scrape(p)
    assert value(m, "sluice_policy_generation") == 3
    assert value(m, "sluice_reloads_total", result="ok") == 2
    # Readiness holds across reloads.
    assert admin_get(p, "/readyz").status == 200


def test_every_metric_is_documented_and_every_documented_metric_exists(sluice, tmp_path):
    """docs/metrics.md is the operator's reference: each family /metrics exposes has a row
    there, and no row names a family that does not exist (a rename in one place only). With a
    CA loaded, so that the interception families are there too."""
    p = start_with_admin(sluice, {"tls": {"state_dir": str(tmp_path / "state")}})
    text = admin_get(p, "/metrics").text()
    exposed = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "metrics.md")).read()
    documented = set(re.findall(r"^\| `(sluice_[a-z0-9_]+)` \|", doc, re.M))
    assert exposed, text
    assert exposed - documented == set(), "exposed but not in docs/metrics.md"
    assert documented - exposed == set(), "in docs/metrics.md but not exposed"
