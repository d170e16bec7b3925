"""The sealed agent network of issue 6, built with network namespaces: an agent namespace with
no default route and one veth link to sluice's namespace, where the "public" and "internal"
servers live. From the agent side: allowed sites work through the proxy, direct connections
fail with no route, internal and metadata addresses are refused, and search goes through the
route. Everything here lives in namespaces this test run created (the suite itself runs under
`unshare -n`); the link addresses exist only on this veth pair."""

import json
import os
import subprocess
import time

import pytest

from searx_stub import SEARX_IP, searx  # noqa: F401 (searx is a fixture)

SLUICE_SIDE = "10.77.0.1"
AGENT_SIDE = "10.77.0.2"


def sh(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


@pytest.fixture
def agent_ns():
    """A child process holding a fresh network namespace, linked to ours by one veth pair."""
    holder = subprocess.Popen(["unshare", "-n", "sleep", "120"])
    try:
        pid = str(holder.pid)
        deadline = time.monotonic() + 5
        while sh("nsenter", "-t", pid, "-n", "true").returncode != 0:
            assert time.monotonic() < deadline, "agent namespace did not come up"
            time.sleep(0.02)
        # The holder has unshared once its net namespace differs from ours.
        while os.readlink("/proc/%s/ns/net" % pid) == os.readlink("/proc/self/ns/net"):
            assert time.monotonic() < deadline, "agent namespace did not come up"
            time.sleep(0.02)
        for cmd in (["ip", "link", "add", "slv0", "type", "veth", "peer", "name", "agv0",
                     "netns", pid],
                    ["ip", "addr", "add", SLUICE_SIDE + "/30", "dev", "slv0"],
                    ["ip", "link", "set", "slv0", "up"]):
            r = sh(*cmd)
            assert r.returncode == 0, (cmd, r.stderr)
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "addr", "add", AGENT_SIDE + "/30", "dev", "agv0"],
                    ["ip", "link", "set", "agv0", "up"]):
            r = sh("nsenter", "-t", pid, "-n", *cmd)
            assert r.returncode == 0, (cmd, r.stderr)
        yield pid
    finally:
        holder.kill()
        holder.wait()
        sh("ip", "link", "del", "slv0")


def agent_curl(pid, *args):
    """curl run inside the agent namespace; returns (exit code, http code, body)."""
    r = sh("nsenter", "-t", pid, "-n", "curl", "-s", "--max-time", "5", "-o", "-",
           "-w", "\n%{http_code}", *args, timeout=20)
    body, _, code = r.stdout.rpartition("\n")
    return r.returncode, code, body


def test_sealed_agent_network(sluice, agent_ns, canaries, origins, searx):  # noqa: F811
    p = sluice(listen_hosts=(SLUICE_SIDE,), config={
        "agents": [{"name": "research", "match": {"source": [AGENT_SIDE + "/32"]},
                    "allow": ["public.test"]}],
        "routes": [{"host": "search.internal", "upstream": "http://%s:8080" % SEARX_IP,
                    "agents": ["research"]}],
    })
    proxy = "http://%s:%d" % (SLUICE_SIDE, p.port)
    ns = agent_ns

    # The agent namespace has no default route: nothing but the link's /30 is reachable.
    routes = sh("nsenter", "-t", ns, "-n", "ip", "route").stdout
    assert "default" not in routes, routes

    # Allowed site through the proxy.
    rc, code, body = agent_curl(ns, "-x", proxy, "http://public.test/echo")
    assert (rc, code) == (0, "200"), body
    [e] = p.wait_logs({"host": "public.test"})
    assert e["agent"] == "research" and e["client"].startswith(AGENT_SIDE + ":")

    # Direct connections fail: no route out of the agent namespace.
    n0 = origins.hits("192.0.2.10")
    before = canaries.snapshot()
    stub0 = searx.connections()
    for url in ("http://192.0.2.10/echo", "http://169.254.169.254/", "http://10.0.0.1/",
                "http://%s:8080/search?q=x&format=json" % SEARX_IP):
        rc, code, _ = agent_curl(ns, "--noproxy", "*", url)
        assert rc == 7 and code == "000", (url, rc, code)
    assert origins.hits("192.0.2.10") == n0

    # Internal and metadata addresses through the proxy are refused and never contacted.
    for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/",
                "http://%s:8080/" % SEARX_IP):
        rc, code, body = agent_curl(ns, "-x", proxy, url)
        assert code == "403", (url, code, body)
    canaries.assert_unchanged(before)
    assert searx.connections() == stub0

    # Search goes through the route, and only through it.
    rc, code, body = agent_curl(ns, "-x", proxy,
                                "http://search.internal/search?q=sluice&format=json")
    assert (rc, code) == (0, "200"), body
    doc = json.loads(body)
    assert doc["query"] == "sluice" and doc["results"][0]["url"]
