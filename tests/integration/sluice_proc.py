"""Runs the sluice binary under test: writes its YAML config, starts it, waits for its
listeners, reads its JSON log lines, stops it and says whether it crashed."""

import copy
import json
import os
import signal
import socket
import subprocess
import time

from fake_servers import listening_on, open_connections_on_port

DNS_SERVER = "127.0.0.1:5353"

# tools/valgrind-integration.sh sets SLUICE_VALGRIND=1 and points SLUICE_BIN at a wrapper that
# runs sluice under memcheck: sluice's own CPU work gets 10-50 times slower, so the harness's
# waits for sluice (start-up, stop, quiescence, log lines) get TIME_FACTOR times longer. The
# tests' assertions about sluice's own timers (head, idle, drain deadlines) are not scaled.
VALGRIND = os.environ.get("SLUICE_VALGRIND") == "1"
TIME_FACTOR = float(os.environ.get("SLUICE_TIME_FACTOR", "10" if VALGRIND else "1"))

BASE_CONFIG = {
    "resolver": {"servers": [DNS_SERVER]},
    # The documentation ranges stand in for the public Internet.
    "ips": {"allow": ["192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"]},
    "ports": [80, 443],
    # A short drain: a test that leaves a tunnel open must not make teardown wait 30 s.
    "timeouts": {"request_head": "2s", "drain": "2s"},
    # The harness's TCP services on 443 (echo) and 22 speak raw bytes through their tunnels,
    # which sluice refuses by default (tunnel.inspect): tests of the relay open those ports.
    # test_tunnel_check.py tests the default, with opaque_ports: [].
    "tunnel": {"opaque_ports": [443, 22]},
}
if VALGRIND:
    # sluice's seccomp allow-list is for sluice's system calls, not valgrind's: under the filter
    # valgrind's own calls would be killed. Tests of the filter itself skip under valgrind.
    BASE_CONFIG["seccomp"] = False

LOG_FIELDS = ("ts", "client", "agent", "method", "host", "port", "decision", "reason", "rule", "ip",
              "status", "bytes_up", "bytes_down", "duration_ms", "id", "event")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "ERROR: UndefinedBehaviorSanitizer")

DELETE = object()  # as an override value: remove the key from the base config


def merge(base, over):
    """Deep-merges dict `over` into a copy of `base`; lists and scalars replace."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is DELETE:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def to_yaml(obj, indent=0):
    """Block mappings for dicts, JSON flow style (valid YAML) for everything else."""
    pad = "  " * indent
    lines = []
    for k, v in obj.items():
        if isinstance(v, dict):
            lines.append("%s%s:" % (pad, k))
            lines.append(to_yaml(v, indent + 1))
        else:
            lines.append("%s%s: %s" % (pad, k, json.dumps(v)))
    return "\n".join(lines)


def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def fmt_endpoint(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


class Sluice:
    def __init__(self, binary, workdir, config=None, config_yaml_extra=None,
                 listen_hosts=("127.0.0.1",), name="sluice"):
        self.binary = binary
        self.workdir = workdir
        self.name = name
        self.endpoints = [(h, free_port(h)) for h in listen_hosts]
        listen = [fmt_endpoint(h, p) for h, p in self.endpoints]
        cfg = merge(BASE_CONFIG, {"listen": {"http": listen[0] if len(listen) == 1 else listen}})
        cfg = merge(cfg, config or {})
        self.config = cfg
        text = to_yaml(cfg) + "\n"
        if config_yaml_extra:
            text += config_yaml_extra.rstrip("\n") + "\n"
        self.config_text = text
        os.makedirs(workdir, exist_ok=True)
        self.config_path = os.path.join(workdir, name + ".yaml")
        self.stdout_path = os.path.join(workdir, name + ".stdout")
        self.stderr_path = os.path.join(workdir, name + ".stderr")
        with open(self.config_path, "w") as f:
            f.write(text)
        self.proc = None
        self.died_early = None

    # ---- addresses

    @property
    def host(self):
        return self.endpoints[0][0]

    @property
    def port(self):
        return self.endpoints[0][1]

    @property
    def addr(self):
        return (self.host, self.port)

    @property
    def url(self):
        return "http://" + fmt_endpoint(self.host, self.port)

    def url_of(self, i):
        return "http://" + fmt_endpoint(*self.endpoints[i])

    # ---- lifecycle

    def start(self, timeout=5.0):
        timeout *= TIME_FACTOR
        out = open(self.stdout_path, "wb")
        err = open(self.stderr_path, "wb")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.proc = subprocess.Popen([self.binary, "-c", self.config_path], stdout=out,
                                     stderr=err, stdin=subprocess.DEVNULL, env=env)
        out.close()
        err.close()
        deadline = time.monotonic() + timeout
        # Readiness is read from /proc/net/tcp, not by connecting: a probe connection would
        # be a client of its own and could add a log line.
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sluice exited during start-up (status %s)\nconfig:\n%s\n"
                                   "stderr:\n%s" % (self.proc.returncode, self.config_text,
                                                    self.stderr()))
            if all(listening_on(h, p) for h, p in self.endpoints) and self._serving():
                return self
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("sluice did not listen on %s within %.0fs\nconfig:\n%s\nstderr:\n%s"
                           % (self.endpoints, timeout, self.config_text, self.stderr()))

    def _serving(self):
        """sluice binds its listeners before it drops privileges and starts the worker threads:
        a test that looks in between (test_privs reads every thread's credentials) would see
        the start-up state. Ready means a worker thread exists too. The gap is microseconds
        natively and long under valgrind."""
        try:
            return len(os.listdir("/proc/%d/task" % self.proc.pid)) >= 2
        except OSError:
            return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout=5.0):
        """Stops sluice; returns None when it ended well, else a description of the problem
        (died before we stopped it, died of a signal other than SIGTERM, non-zero exit,
        needed SIGKILL, or a sanitizer report on stderr)."""
        if self.proc is None:
            return None
        timeout *= TIME_FACTOR
        problems = []
        if self.proc.poll() is not None:
            problems.append("sluice had already exited (status %s) before the test ended"
                            % self.proc.returncode)
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                problems.append("sluice ignored SIGTERM for %.0fs; killed" % timeout)
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        if rc not in (0, -signal.SIGTERM) and not any("ignored SIGTERM" in p for p in problems):
            if rc < 0:
                problems.append("sluice died of signal %s" % signal.Signals(-rc).name)
            else:
                problems.append("sluice exited with status %d" % rc)
        err = self.stderr()
        for m in SANITIZER_MARKERS:
            if m in err:
                problems.append("sanitizer report on stderr (%s)" % m)
                break
        return "; ".join(problems) or None

    # ---- output

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout_bytes(self):
        try:
            with open(self.stdout_path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def log_mark(self):
        return len(self.stdout_bytes())

    def quiesce(self, timeout=2.0):
        """Waits until sluice has closed every client connection and its log stopped growing,
        so that the lines of one test cannot land after the next test's mark."""
        timeout *= TIME_FACTOR
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and \
                any(open_connections_on_port(p) for _, p in self.endpoints):
            time.sleep(0.005)
        size = self.log_mark()
        while time.monotonic() < deadline:
            time.sleep(0.01)
            now = self.log_mark()
            if now == size:
                return
            size = now

    def logs(self, since=0, opens=False):
        """The complete JSON log lines written after byte offset `since`. A tunnel's open line
        ("event": "open", issue 10) is left out unless `opens`: every request has exactly one
        end line, which is what most tests look for."""
        data = self.stdout_bytes()[since:]
        end = data.rfind(b"\n")
        out = []
        for line in data[:end + 1].splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise AssertionError("sluice wrote a stdout line that is not JSON: %r" % line)
            if not isinstance(obj, dict):
                raise AssertionError("log line is not a JSON object: %r" % line)
            if obj.get("event") == "open" and not opens:
                continue
            out.append(obj)
        return out

    def wait_logs(self, since=0, match=None, count=1, timeout=3.0, opens=False):
        """Waits until at least `count` log lines after `since` satisfy `match` (a predicate or
        a dict of field values); returns the matching lines (may be fewer on timeout). Open
        lines count only with `opens`."""
        if isinstance(match, dict):
            want = match
            match = lambda e: all(e.get(k) == v for k, v in want.items())  # noqa: E731
        match = match or (lambda e: True)
        timeout *= TIME_FACTOR
        deadline = time.monotonic() + timeout
        while True:
            got = [e for e in self.logs(since, opens) if match(e)]
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.02)

    def describe(self, since=0, tail=4000):
        return ("--- %s config (%s)\n%s--- stdout (log) since mark\n%s\n--- stderr\n%s"
                % (self.name, self.config_path, self.config_text,
                   self.stdout_bytes()[since:][-tail:].decode("utf-8", "replace"),
                   self.stderr()[-tail:]))
