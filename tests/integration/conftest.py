"""pytest harness for sluice's integration tests.

Run inside a fresh network namespace, as root:

    SLUICE_BIN=build/sluice unshare -n -- /usr/bin/python3 -m pytest -q tests/integration

At session start the harness refuses to run (exit status 2) unless the only network interface
is lo, then brings lo up and adds the test addresses (netns.py). Session-scoped servers, all
on lo inside the namespace:

- DNS on 127.0.0.1:5353, UDP and TCP (dns_server.py; names in DEFAULT_TABLE);
- public HTTP origins on 192.0.2.10, 198.51.100.10 and [2001:db8::10], ports 80 and 8080;
  TCP echo on 192.0.2.10:443 and [2001:db8::10]:443; a counted listener on 192.0.2.10:22;
- canaries on 169.254.169.254, 10.0.0.1, 127.0.0.1, 127.0.0.2, 168.63.129.16, 203.0.113.10,
  [::1] and [fd00::1], ports 80, 443 and 8080, counting every connection;
- 192.0.2.11 with no listener (connection refused), 192.0.2.12:80 with a full accept queue
  (connect timeout).

Fixtures: `proxy` (a shared sluice with the base config), `sluice` (factory for sluice with
config overrides), `canaries`, `origins`, `dns`.
"""

import os
import time

import pytest

import dns_server
import fake_servers
import netns
from sluice_proc import Sluice

CANARY_IPS = ["169.254.169.254", "10.0.0.1", "127.0.0.1", "127.0.0.2", "168.63.129.16",
              "203.0.113.10", "::1", "fd00::1"]
CANARY_PORTS = [80, 443, 8080]
ORIGIN_IPS = ["192.0.2.10", "198.51.100.10", "2001:db8::10"]
ORIGIN_PORTS = [80, 8080]
ECHO_IPS = ["192.0.2.10", "2001:db8::10"]


def pytest_sessionstart(session):
    why = netns.check_isolated()
    if why:
        pytest.exit("refusing to run the integration tests outside an isolated network "
                    "namespace (%s). Run them as: unshare -n -- /usr/bin/python3 -m pytest "
                    "tests/integration" % why, returncode=2)
    if os.geteuid() != 0:
        pytest.exit("the integration tests need root inside the namespace (to add addresses "
                    "to lo)", returncode=2)
    netns.setup_addresses()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is None or rep.failed


# ---- the fake network ---------------------------------------------------------------------

class Harness:
    def __init__(self):
        self.counter = fake_servers.ConnCounter()
        self.dns = dns_server.DNSServer().start()
        self.hub = fake_servers.CanaryHub(self.counter)
        for ip in CANARY_IPS:
            for port in CANARY_PORTS:
                self.hub.add(ip, port, canary=True)
        # Counted but "public": the target of the CONNECT-to-port-22 test.
        self.hub.add("192.0.2.10", 22, canary=False)
        self.hub.start()
        self.origins = {}
        for ip in ORIGIN_IPS:
            for port in ORIGIN_PORTS:
                self.origins[(ip, port)] = fake_servers.OriginServer(ip, port,
                                                                     self.counter).start()
        self.echo = [fake_servers.EchoServer(ip, 443, self.counter).start() for ip in ECHO_IPS]
        self.blackhole = fake_servers.BlackHole("192.0.2.12", 80)
        self.blackhole_ok = self.blackhole.fill()

    def settle(self):
        """Makes sure every connection that reached a counted listener so far is counted."""
        time.sleep(0.03)
        keys = self.counter.keys
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            self.hub.drain()
            pending = [k for k, q in fake_servers.proc_listeners() if k in keys and q > 0]
            if not pending:
                return
            time.sleep(0.01)

    def stop(self):
        for o in self.origins.values():
            o.shutdown()
            o.server_close()
        for e in self.echo:
            e.stop()
        self.hub.stop()
        self.blackhole.stop()
        self.dns.stop()


@pytest.fixture(scope="session")
def harness():
    h = Harness()
    yield h
    h.stop()


@pytest.fixture
def dns(harness):
    """The DNS server; the table is restored and counters cleared after each test."""
    harness.dns.reset()
    yield harness.dns
    harness.dns.reset()


class Canaries:
    def __init__(self, harness):
        self.h = harness

    def snapshot(self):
        """Connections per counted listener, plus ("requests", ip, port) per origin: sluice may
        reuse upstream connections, so a request can reach an origin without a new one."""
        self.h.settle()
        snap = self.h.counter.snapshot()
        for (ip, port), srv in self.h.origins.items():
            snap[("requests", ip, port)] = len(srv.requests)
        return snap

    def count(self, ip, port):
        self.h.settle()
        return self.h.counter.get(ip, port)

    def touched(self, before, also=()):
        """The counted listeners (every canary, plus `also` keys) whose count changed."""
        after = self.snapshot()
        keys = set(self.h.counter.canary_keys)
        for ip, port in also:
            keys.add((fake_servers.norm_ip(ip), port))
            if ("requests", fake_servers.norm_ip(ip), port) in after:
                keys.add(("requests", fake_servers.norm_ip(ip), port))
        return {k: after.get(k, 0) - before.get(k, 0) for k in sorted(keys, key=str)
                if after.get(k, 0) != before.get(k, 0)}

    def assert_unchanged(self, before, also=()):
        changed = self.touched(before, also)
        assert not changed, "connections reached protected listeners: %r" % changed


@pytest.fixture
def canaries(harness, dns):
    return Canaries(harness)


class Origins:
    def __init__(self, harness):
        self.h = harness

    def count(self, ip, port=80):
        """TCP connections the origin has accepted."""
        self.h.settle()
        return self.h.counter.get(ip, port)

    def hits(self, ip, port=80):
        """Connections accepted plus requests served: unchanged means nothing reached the
        origin, neither on a new connection nor on one sluice kept from before."""
        return self.count(ip, port) + self.requests(ip, port)

    def requests(self, ip, port=80):
        """Requests the origin has served. sluice may reuse upstream connections, so a
        request that got through is counted here, not necessarily by count()."""
        return len(self.server(ip, port).requests)

    def server(self, ip, port=80):
        return self.h.origins[(fake_servers.norm_ip(ip), port)]


@pytest.fixture
def origins(harness):
    return Origins(harness)


# ---- sluice -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sluice_bin():
    path = os.environ.get("SLUICE_BIN")
    if not path:
        pytest.skip("SLUICE_BIN is not set: only the harness self-tests run")
    if not os.access(path, os.X_OK):
        pytest.fail("SLUICE_BIN=%r is not an executable file" % path)
    return os.path.abspath(path)


class SharedProxy:
    """The base-config sluice shared by most tests; restarted if a test made it die."""

    def __init__(self, binary, workdir):
        self.binary, self.workdir = binary, workdir
        self.proc = None
        self.generation = 0

    def get(self):
        if self.proc is None or not self.proc.alive():
            self.generation += 1
            self.proc = Sluice(self.binary, self.workdir, name="shared%d" % self.generation)
            self.proc.start()
        return self.proc


@pytest.fixture(scope="session")
def _shared_proxy(sluice_bin, harness, tmp_path_factory):
    sp = SharedProxy(sluice_bin, str(tmp_path_factory.mktemp("shared")))
    yield sp
    if sp.proc is not None:
        problem = sp.proc.stop()
        if problem:
            print(sp.proc.describe())
            pytest.fail("shared sluice: " + problem)


class ProxyView:
    """A sluice plus the log offset at the start of the test."""

    def __init__(self, proc):
        self.proc = proc
        proc.quiesce()
        self.mark = proc.log_mark()

    def __getattr__(self, name):
        return getattr(self.proc, name)

    def logs(self, since=None, opens=False):
        return self.proc.logs(self.mark if since is None else since, opens)

    def wait_logs(self, match=None, count=1, timeout=3.0, since=None, opens=False):
        return self.proc.wait_logs(self.mark if since is None else since, match, count, timeout,
                                   opens)


@pytest.fixture
def proxy(_shared_proxy, dns, request):
    view = ProxyView(_shared_proxy.get())
    yield view
    if not view.proc.alive():
        print(view.proc.describe(view.mark))
        problem = view.proc.stop()
        pytest.fail("sluice died during this test: %s" % problem)
    if _failed(request):
        print(view.proc.describe(view.mark))


@pytest.fixture
def sluice(sluice_bin, harness, dns, tmp_path, request):
    """Factory: sluice(config={...overrides...}, config_yaml_extra="...",
    listen_hosts=("127.0.0.1", "::1")) starts a sluice with the base config deep-merged with
    the overrides. Each is stopped at teardown; a crash or sanitizer report fails the test."""
    started = []

    def start(config=None, config_yaml_extra=None, listen_hosts=("127.0.0.1",)):
        s = Sluice(sluice_bin, str(tmp_path), config=config, config_yaml_extra=config_yaml_extra,
                   listen_hosts=listen_hosts, name="sluice%d" % len(started))
        started.append(s)
        s.start()
        return ProxyView(s)

    yield start
    problems = []
    for s in started:
        p = s.stop()
        if p or _failed(request):
            print(s.describe())
        if p:
            problems.append("%s: %s" % (s.name, p))
    if problems:
        pytest.fail("; ".join(problems))
