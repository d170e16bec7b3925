"""Least privilege (issue 5, item 5): started as root with `user: nobody`, sluice binds its
listeners, then every thread runs as uid/gid 65534 with no_new_privs and the seccomp filter
(Seccomp: 2), and still proxies plain HTTP, CONNECT tunnels, TLS routes and reloads.
`seccomp: false` turns the filter off; an unknown user stops the start with a clear message;
a system call outside the allow-list ends sluice with a message naming it and status 70."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import fake_servers
from client import RawConn, connect_req, get, tunnel_roundtrip
from sluice_proc import BASE_CONFIG, VALGRIND, Sluice, free_port, merge, to_yaml
import tls_stub
from tls_stub import GOOD_PORT, TLS_NAME

NOBODY = 65534
# A stub of its own (test_routes_tls keeps one on 10.0.0.7 for the whole session).
PRIVS_TLS_IP = "10.0.0.9"
# The harness turns the filter off under valgrind: it would kill valgrind's own system calls.
NEEDS_FILTER = pytest.mark.skipif(VALGRIND, reason="no seccomp filter under valgrind")


@pytest.fixture
def world_dir():
    """A directory nobody can read (mode 755, file 644): the reload re-reads the config file
    after the drop, as the unprivileged user. pytest's tmp_path sits under a 0700 dir."""
    d = tempfile.mkdtemp(prefix="sluice-privs-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def start(sluice_bin, harness, dns, world_dir):
    started = []

    def go(config):
        s = Sluice(sluice_bin, world_dir, config=config, name="privs%d" % len(started))
        os.chmod(s.config_path, 0o644)
        started.append(s)
        return s.start()
    yield go
    problems = [s.name + ": " + p for s in started for p in [s.stop()] if p]
    for s in started:
        if problems:
            print(s.stderr())
    assert not problems, problems


def proc_status(pid):
    """Status fields of every thread of pid: a list of dicts (Uid, Gid, NoNewPrivs,...)."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        fields = {}
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v.split()
        out.append(fields)
    return out


def run_to_exit(sluice_bin, world_dir, config, env=None, timeout=10):
    path = os.path.join(world_dir, "once.yaml")
    cfg = merge(BASE_CONFIG, {"listen": {"http": "127.0.0.1:%d" % free_port()}})
    with open(path, "w") as f:
        f.write(to_yaml(merge(cfg, config)) + "\n")
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sluice_bin, "-c", path], stdin=subprocess.DEVNULL,
                          capture_output=True, env=e, timeout=timeout)


@NEEDS_FILTER
def test_user_nobody_drops_root_on_every_thread(start, origins):
    s = start({"user": "nobody", "workers": 2})
    threads = proc_status(s.proc.pid)
    assert len(threads) >= 3, threads  # main + 2 workers
    for t in threads:
        assert t["Uid"] == [str(NOBODY)] * 4, t["Uid"]
        assert t["Gid"] == [str(NOBODY)] * 4, t["Gid"]
        assert "0" not in t["Groups"], t["Groups"]
        assert t["NoNewPrivs"] == ["1"], t["NoNewPrivs"]
        assert t["Seccomp"] == ["2"], t["Seccomp"]
    # CapEff all zero: nothing of root is left.
    assert int(threads[0]["CapEff"][0], 16) == 0, threads[0]["CapEff"]


def test_dropped_and_filtered_sluice_still_proxies(start, origins):
    s = start({"user": "nobody", "allow": ["public.test"]})
    r = get(s.addr, "http://public.test/echo")
    assert r.status == 200, r
    data = b"".join(fake_servers.pattern_chunks(256 << 10))
    with RawConn(s.addr, timeout=10) as c:
        c.send(connect_req("public.test:443"))
        assert c.read_response("CONNECT").status == 200
        assert tunnel_roundtrip(c, data) == data
    assert s.alive(), s.stderr()


def test_dropped_and_filtered_sluice_reloads(start, origins):
    s = start({"user": "nobody", "allow": ["public.test"]})
    assert get(s.addr, "http://public2.test/echo").status == 403
    text = to_yaml(merge(s.config, {"allow": ["public2.test"]})) + "\n"
    with open(s.config_path, "w") as f:
        f.write(text)
    before = len(s.stderr())
    s.proc.send_signal(signal.SIGHUP)
    for _ in range(300):
        if "loaded" in s.stderr()[before:]:
            break
        assert s.alive(), s.stderr()
        time.sleep(0.01)
    assert "reload: " in s.stderr()[before:] and "loaded" in s.stderr()[before:], s.stderr()
    assert get(s.addr, "http://public2.test/echo").status == 200
    assert s.alive()


@pytest.fixture(scope="module")
def privs_tls(tmp_path_factory, harness):
    pki = tls_stub.make_pki(tmp_path_factory.mktemp("privs-pki"))
    stub = tls_stub.TLSStub(pki, ip=PRIVS_TLS_IP).start()
    yield stub
    stub.stop()


def test_dropped_and_filtered_sluice_serves_tls_route(start, privs_tls, dns, world_dir):
    """OpenSSL reads the CA file and the system store after the drop, under the filter."""
    dns.set(TLS_NAME, a=[PRIVS_TLS_IP])
    ca = os.path.join(world_dir, "ca.pem")
    shutil.copy(privs_tls.pki["ca"], ca)
    os.chmod(ca, 0o644)
    rt = {"host": "api.internal", "upstream": "https://%s:%d" % (TLS_NAME, GOOD_PORT),
          "ca_file": ca}
    s = start({"user": "nobody", "routes": [rt]})
    r = get(s.addr, "http://api.internal/echo")
    assert r.status == 200, (r, s.stderr())
    assert s.alive()


def test_seccomp_false_runs_unfiltered(start):
    s = start({"seccomp": False})
    for t in proc_status(s.proc.pid):
        assert t["Seccomp"] == ["0"], t["Seccomp"]
        assert t["NoNewPrivs"] == ["1"], t["NoNewPrivs"]


@NEEDS_FILTER
def test_seccomp_on_by_default(start):
    s = start({})
    for t in proc_status(s.proc.pid):
        assert t["Seccomp"] == ["2"], t["Seccomp"]
        assert t["Uid"] == ["0"] * 4  # no user: stays as started


def test_unknown_user_fails_start(sluice_bin, world_dir):
    r = run_to_exit(sluice_bin, world_dir, {"user": "no-such-user-x"})
    assert r.returncode == 1, r
    assert b"sluice: user: no such user 'no-such-user-x'" in r.stderr, r.stderr


@NEEDS_FILTER
def test_blocked_syscall_is_reported_and_exits_70(sluice_bin, world_dir):
    r = run_to_exit(sluice_bin, world_dir, {}, env={"SLUICE_TEST_BLOCKED_SYSCALL": "1"})
    assert r.returncode == 70, r
    want = rb"sluice: blocked system call \d+ \(personality\); this is a bug, please report it"
    assert re.search(want, r.stderr), r.stderr


# ---- the warning for root without user: (issue 10, item 9) -------------------------------

ROOT_WARNING = "sluice: warning: running as root without user:"


def started_stderr(s, timeout=5.0):
    """s's stderr once it says its workers run (the warning comes before that line)."""
    deadline = time.monotonic() + timeout
    while not re.search(r"workers? running", s.stderr()):
        assert time.monotonic() < deadline, s.stderr()
        time.sleep(0.02)
    return s.stderr()


def test_root_without_user_warns_to_set_user(start):
    """Started as root with no user:, sluice says once on stderr that every thread keeps root
    and what to do about it, and starts all the same."""
    s = start({})
    err = started_stderr(s)
    assert err.count(ROOT_WARNING) == 1, err
    assert "set user: in the config file" in err, err
    assert s.alive()


def test_root_with_user_does_not_warn(start):
    s = start({"user": "nobody"})
    assert "warning: running as root" not in started_stderr(s)


def test_check_as_root_does_not_warn(sluice_bin, world_dir):
    path = os.path.join(world_dir, "check.yaml")
    with open(path, "w") as f:
        f.write("ports: [80]\n")
    r = subprocess.run([sluice_bin, "check", "-c", path], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in r.stdout + r.stderr, r.stdout + r.stderr
