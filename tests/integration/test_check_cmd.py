"""`sluice check -c FILE` on policy files with agents and routes (issue 4): exit 0 and a summary
for a good file; exit 1 and every error as FILE:line:col: message for a broken one. Issue 10:
several files in one run, --offline (secrets and CA files listed as not read, so every shipped
config passes in CI), a summary that counts what a start would use, and a YAML syntax error
reported alone."""

import glob
import os
import re
import subprocess
import time

import pytest

import yaml_subset
from fake_servers import listening_on
from sluice_proc import free_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = sorted(os.path.relpath(p) for p in glob.glob(os.path.join(ROOT, "examples", "*.yaml")))

GOOD = """\
listen:
  http: "127.0.0.1:%(port)d"
mode: enforce
methods: [GET, HEAD, POST]
max_request_body: 1048576
guidance: "Ask #platform for access."
allow: ["public.test"]
agents:
  - name: research
    match:
      source: ["127.0.0.3/32", "10.1.0.0/24"]
    allow: ["public.test", "*.example.test", "public6.test:8080"]
    mode: report
    guidance: "Research agents: file a ticket."
  - name: coder
    match:
      token_sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    allow: ["public2.test"]
    deny: ["*.evil.test"]
    ports: [80, 443, 8080]
    methods: [GET]
    max_request_body: 0
  - name: tester
    match:
      token_env: SLUICE_CHECK_TOKEN
    mode: open
  - name: default
    allow: ["public.test"]
routes:
  - host: search.internal
    upstream: "http://10.0.0.5:8080"
    agents: [research]
    rewrite: {from: "/", to: "/"}
    headers:
      set:
        Authorization: {env: SLUICE_CHECK_SEARX_KEY}
        X-From: sluice
      remove: [Cookie]
"""

# (line, a regex the message must match) for every error in BROKEN.
BROKEN = """\
listen:
  http: "127.0.0.1:3128"
mode: sometimes
methods: [GET, CONNECT]
max_request_body: lots
agents:
  - name: research
    match:
      source: ["10.1.0.1/24"]
    mode: enforce
  - name: research
    allow: ["ok.test"]
  - name: coder
    match:
      token_sha256: "abc123"
    allw: ["x.test"]
  - name: "bad name!"
routes:
  - host: search.internal
    upstream: "ftp://10.0.0.5:8080"
    agents: [research, nobody]
  - host: search.internal
    upstream: "http://10.0.0.5:8080"
"""
BROKEN_ERRORS = [
    (3, r"mode"),
    (4, r"methods\[1\]"),
    (5, r"max_request_body"),
    (9, r"agents\[0\]\.match\.source\[0\]"),
    (11, r"research"),          # duplicate agent name
    (15, r"token_sha256"),
    (16, r"allw"),
    (17, r"agents\[3\]\.name"),
    (20, r"routes\[0\]\.upstream"),
    (21, r"nobody"),            # a route naming an agent that does not exist
    (22, r"search\.internal"),  # the same route host twice
]


def _check(sluice_bin, path, env=None):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([sluice_bin, "check", "-c", str(path)], capture_output=True, text=True,
                       timeout=10, env=e)
    return r.returncode, r.stdout + r.stderr


GOOD_ENV = {"SLUICE_CHECK_TOKEN": "t0ken", "SLUICE_CHECK_SEARX_KEY": "Bearer k"}


def test_check_good_policy_file_exits_0_with_a_summary(sluice_bin, tmp_path):
    port = free_port()
    path = tmp_path / "good.yaml"
    path.write_text(GOOD % {"port": port})
    t0 = time.monotonic()
    rc, out = _check(sluice_bin, path, GOOD_ENV)
    assert rc == 0, out
    assert out.strip(), "no summary printed"
    assert "good.yaml" in out, out
    assert not re.search(r"error", out, re.I), out
    assert time.monotonic() - t0 < 5
    assert not listening_on("127.0.0.1", port), "check started a proxy"


def test_check_summary_counts_agents_and_routes(sluice_bin, tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD % {"port": free_port()})
    rc, out = _check(sluice_bin, path, GOOD_ENV)
    assert rc == 0, out
    assert re.search(r"\b4 agents\b", out), "summary does not count the agents: %r" % out
    assert re.search(r"\b1 route\b", out), "summary does not count the routes: %r" % out


def test_check_summary_counts_dns_and_transparent_listeners(sluice_bin, tmp_path):
    path = tmp_path / "dns.yaml"
    path.write_text('listen:\n  http: "127.0.0.3:3128"\n  dns: "127.0.0.3:5300"\n'
                    '  transparent_http: "127.0.0.3:8080"\n'
                    '  transparent_tls: ["127.0.0.3:8443", "127.0.0.4:8443"]\n'
                    'resolver:\n  servers: ["127.0.0.1:5353"]\ndns:\n  answer: proxy\n')
    rc, out = _check(sluice_bin, path)
    assert rc == 0, out
    assert "ok: 1 listen address, 1 DNS listener, 3 transparent listeners, 1 resolver" in out, out


def test_check_summary_counts_request_rules(sluice_bin, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text('listen:\n  http: "127.0.0.3:3128"\nresolver:\n  servers: ["127.0.0.1:5353"]\n'
                    'rules:\n  - host: a.test\n    paths: ["/x/**"]\n'
                    'agents:\n  - name: default\n    rules:\n      - host: b.test\n'
                    '      - host: c.test\n')
    rc, out = _check(sluice_bin, path)
    assert rc == 0, out
    assert out.rstrip().endswith("0 routes, 3 request rules"), out


def test_check_summary_counts_intercept_patterns_and_loads_upstream_ca(sluice_bin, tmp_path):
    """Interception is counted like rules; its tls.upstream_ca is loaded as a start would (a
    missing bundle is an error naming the key), and listed as not read under --offline."""
    path = tmp_path / "intercept.yaml"
    head = ('listen:\n  http: "127.0.0.3:3128"\nresolver:\n  servers: ["127.0.0.1:5353"]\n'
            'intercept: ["*.example.test", api.github.test]\n'
            'agents:\n  - name: default\n    intercept: [a.test]\n')
    path.write_text(head)
    rc, out = _check(sluice_bin, path)
    assert rc == 0, out
    assert out.rstrip().endswith("0 routes, 3 intercept patterns"), out
    path.write_text(head + "tls:\n  upstream_ca: /nonexistent/sluice/bundle.pem\n")
    rc, out = _check(sluice_bin, path)
    assert rc == 1, out
    assert "tls.upstream_ca: " in out and "/nonexistent/sluice/bundle.pem" in out, out
    r = subprocess.run([sluice_bin, "check", "--offline", "-c", str(path)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "tls.upstream_ca /nonexistent/sluice/bundle.pem: not read (--offline)" in r.stdout
    assert "not read (--offline): 1 CA file" in r.stdout, r.stdout


def test_check_broken_policy_file_reports_every_error(sluice_bin, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BROKEN)
    rc, out = _check(sluice_bin, path)
    assert rc == 1, out
    missing = [(line, rx) for line, rx in BROKEN_ERRORS
               if not re.search(r"bad\.yaml:%d:\d+: .*%s" % (line, rx), out)]
    assert not missing, "errors not reported as bad.yaml:LINE:COL: ... %r\n%s" % (missing, out)
    positioned = re.findall(r"^.*bad\.yaml:\d+:\d+: .+$", out, re.M)
    assert len(positioned) >= len(BROKEN_ERRORS), out


@pytest.mark.parametrize("text,line", [
    ('agents:\n  - name: a\n    mode: strict\n', 3),
    ('agents:\n  - name: a\n    match:\n      source: ["300.1.2.3/8"]\n', 4),
    ('agents:\n  - name: a\n    match:\n      token_sha256: "%s"\n' % ("g" * 64), 4),
    ('agents:\n  - name: a\n  - name: a\n', 3),
    ('agents:\n  - allow: ["x.test"]\n', 2),
    ('agents:\n  - name: a\n    allow: ["*.bad.*"]\n', 3),
    ('agents:\n  - name: a\n    allow: ["public.test:0"]\n', 3),
    ('agents:\n  - name: a\n    methods: ["G ET"]\n', 3),
    ('agents:\n  - name: a\n    max_request_body: -1\n', 3),
    ('agents:\n  - name: a\n    match:\n      colour: blue\n', 4),
    ('routes:\n  - host: search.internal\n', 2),
    ('routes:\n  - host: search.internal\n    upstream: "10.0.0.5:8080"\n', 3),
    ('routes:\n  - host: "bad host!"\n    upstream: "http://10.0.0.5:8080"\n', 2),
    ('routes:\n  - host: s.internal\n    upstream: "http://10.0.0.5:8080"\n'
     '    agents: [ghost]\n', 4),
    ('routes:\n  - host: s.internal\n    upstream: "http://10.0.0.5:8080"\n'
     '    headers:\n      set:\n        "Bad Header": x\n', 6),
    ('routes:\n  - host: s.internal\n    upstream: "http://10.0.0.5:8080"\n'
     '    rewrite: {from: "nope", to: "/"}\n', 4),
], ids=["bad_mode", "bad_source", "bad_hash", "duplicate_agent", "agent_without_name",
        "bad_allow", "allow_port_zero", "bad_method", "negative_body_limit",
        "unknown_match_key", "route_without_upstream", "upstream_not_url", "bad_route_host",
        "route_unknown_agent", "bad_header_name", "rewrite_not_a_path"])
def test_check_refuses_each_broken_policy_item(sluice_bin, tmp_path, text, line):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    rc, out = _check(sluice_bin, path)
    assert rc == 1, (text, out)
    assert re.search(r"bad\.yaml:%d:\d+: " % line, out), (text, out)


@pytest.mark.parametrize("item,line", [
    ('agents:\n  - name: a\n    match:\n      token_env: SLUICE_CHECK_UNSET\n', 4),
    ('agents:\n  - name: a\n    match:\n      token_file: /nonexistent/sluice/token\n', 4),
    ('routes:\n  - host: s.internal\n    upstream: "http://10.0.0.5:8080"\n'
     '    headers:\n      set:\n        Authorization: {env: SLUICE_CHECK_UNSET}\n', 6),
], ids=["token_env_unset", "token_file_missing", "header_env_unset"])
def test_check_missing_secret_source_is_an_error_with_position(sluice_bin, tmp_path, item,
                                                                line):
    """A token or header value that cannot be read is an error of the file, located like any
    other (FILE:line:col)."""
    path = tmp_path / "bad.yaml"
    path.write_text(item)
    env = dict(os.environ)
    env.pop("SLUICE_CHECK_UNSET", None)
    r = subprocess.run([sluice_bin, "check", "-c", str(path)], capture_output=True, text=True,
                       timeout=10, env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert re.search(r"bad\.yaml:%d:\d+: " % line, out), out


def test_proxy_refuses_to_start_with_a_broken_policy_file(sluice_bin, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BROKEN)
    r = subprocess.run([sluice_bin, "-c", str(path)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode != 0
    assert "bad.yaml:3:" in r.stderr and "bad.yaml:21:" in r.stderr, r.stderr


# ---- several files (issue 10, item 2) -----------------------------------------------------

def _run_check(sluice_bin, args, env=None, timeout=20):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sluice_bin, "check"] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=timeout, env=e)


def _two_good_one_bad(tmp_path):
    good1, good2, bad = tmp_path / "good1.yaml", tmp_path / "good2.yaml", tmp_path / "bad.yaml"
    good1.write_text('ports: [80]\n')
    good2.write_text('allow: ["public.test"]\n')
    bad.write_text('ports: [0]\n')
    return good1, good2, bad


@pytest.mark.parametrize("form", ["one_c", "c_each"])
def test_check_takes_several_files_each_reported_under_its_path(sluice_bin, tmp_path, form):
    """`check -c a b c` and `check -c a -c b -c c`: every file is checked (a bad one does not
    stop the others), each is reported under its own path, and the status is 1 if any fails."""
    good1, good2, bad = _two_good_one_bad(tmp_path)
    files = [good1, bad, good2]
    args = ["-c"] + files if form == "one_c" else [a for f in files for a in ("-c", f)]
    r = _run_check(sluice_bin, args)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"^%s: ok\b" % re.escape(str(good1)), r.stdout, re.M), r.stdout
    assert re.search(r"^%s: ok\b" % re.escape(str(good2)), r.stdout, re.M), r.stdout
    assert re.search(r"^%s:1:\d+: ports\[0\]" % re.escape(str(bad)), r.stderr, re.M), r.stderr
    assert str(bad) + ": ok" not in r.stdout, r.stdout
    # Only good files: 0.
    r = _run_check(sluice_bin, ["-c", good1, good2])
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(re.findall(r": ok\b", r.stdout)) == 2, r.stdout


def test_check_runs_on_the_examples_glob(sluice_bin):
    """`sluice check --offline -c examples/*.yaml`, as the shell expands it: one summary line per
    example, exit 0."""
    r = _run_check(sluice_bin, ["--offline", "-c"] + EXAMPLES)
    assert r.returncode == 0, r.stdout + r.stderr
    for path in EXAMPLES:
        assert re.search(r"^%s: ok\b" % re.escape(path), r.stdout, re.M), (path, r.stdout)


# ---- --offline (issue 10, item 2) ---------------------------------------------------------

SECRETS = """\
agents:
  - name: coder
    match:
      token_file: /nonexistent/sluice/coder-token
  - name: ci
    match:
      token_env: SLUICE_CHECK_OFFLINE_UNSET
  - name: default
routes:
  - host: search.internal
    upstream: "http://10.0.0.5:8080"
    headers:
      set:
        Authorization: {env: SLUICE_CHECK_OFFLINE_BAD}
        X-Api-Key: {file: /nonexistent/sluice/api-key}
        X-From: sluice
  - host: docs.internal
    upstream: "https://docs.internal.example:8443"
    ca_file: /nonexistent/sluice/ca.pem
"""
# (line, what) of each secret or file SECRETS names, none of which --offline reads.
SECRETS_UNREAD = [(4, "token file /nonexistent/sluice/coder-token"),
                  (7, "token variable SLUICE_CHECK_OFFLINE_UNSET"),
                  (14, "header Authorization from variable SLUICE_CHECK_OFFLINE_BAD"),
                  (15, "header X-Api-Key from file /nonexistent/sluice/api-key"),
                  (19, "ca_file /nonexistent/sluice/ca.pem")]
# Set, but not a usable value: --offline must not even look at it.
SECRETS_ENV = {"SLUICE_CHECK_OFFLINE_BAD": "two\nlines"}


def test_check_offline_lists_each_secret_as_not_read(sluice_bin, tmp_path):
    """--offline: every token file, token variable, header source and CA file is reported as
    not read, at its position, and the file passes; without --offline the same file fails."""
    path = tmp_path / "secrets.yaml"
    path.write_text(SECRETS)
    env = dict(SECRETS_ENV)
    r = _run_check(sluice_bin, ["--offline", "-c", path], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    for line, what in SECRETS_UNREAD:
        assert re.search(r"^%s:%d:\d+: .*%s: not read" % (re.escape(str(path)), line,
                                                         re.escape(what)), r.stdout, re.M), \
            (line, what, r.stdout)
    assert len(re.findall(r"not read", r.stdout)) == len(SECRETS_UNREAD) + 1, r.stdout
    assert re.search(r"^%s: ok\b.*not read \(--offline\): 4 secrets, 1 CA file\b"
                     % re.escape(str(path)), r.stdout, re.M), r.stdout
    assert not re.search(r"error", r.stdout + r.stderr, re.I), r.stdout + r.stderr
    # Online, each of them is an error.
    r = _run_check(sluice_bin, ["-c", path], env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "secrets.yaml: ok" not in r.stdout


def test_check_offline_still_refuses_an_invalid_file(sluice_bin, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BROKEN)
    r = _run_check(sluice_bin, ["--offline", "-c", path])
    assert r.returncode == 1, r.stdout + r.stderr
    assert "bad.yaml:3:" in r.stderr, r.stderr


# YAML under deploy/ that is another program's: checked by test_deploy_files.py.
OTHER_PROGRAMS = {"deploy/compose.yaml": "Docker Compose",
                  "deploy/searxng/settings.yml": "SearXNG"}


def _shipped_configs():
    """(name, text) of every sluice config in examples/ and deploy/: each example, each YAML
    file under deploy/ that is no Kubernetes manifest and not in OTHER_PROGRAMS, and each
    *.yaml entry of a ConfigMap's data. A new file is covered without a change here."""
    out = []
    for path in EXAMPLES:
        out.append((os.path.relpath(path, ROOT), open(path).read()))
    deploy = sorted(glob.glob(os.path.join(ROOT, "deploy", "**", "*.yaml"), recursive=True) +
                    glob.glob(os.path.join(ROOT, "deploy", "**", "*.yml"), recursive=True))
    for path in deploy:
        rel = os.path.relpath(path, ROOT)
        if rel in OTHER_PROGRAMS:
            continue
        text = open(path).read()
        if not re.search(r"^apiVersion:", text, re.M):
            out.append((rel, text))
            continue
        doc = yaml_subset.load(path)
        if doc.get("kind") == "ConfigMap":
            for key, value in sorted(doc.get("data", {}).items()):
                if key.endswith((".yaml", ".yml")):
                    out.append(("%s:data.%s" % (rel, key), value))
    return out


SHIPPED = _shipped_configs()


def test_shipped_configs_include_the_known_ones():
    names = [n for n, _ in SHIPPED]
    for expected in ("examples/agents.yaml", "deploy/sluice.yaml", "deploy/image/sluice.yaml",
                     "deploy/kubernetes/configmap.yaml:data.sluice.yaml"):
        assert expected in names, names


@pytest.mark.parametrize("name,text", SHIPPED, ids=[n for n, _ in SHIPPED])
def test_shipped_config_passes_offline_check(sluice_bin, tmp_path, name, text):
    """Every example and deploy policy passes `sluice check --offline` as shipped, with none of
    the secrets it names present (what a CI job sees)."""
    path = tmp_path / os.path.basename(name.split(":")[0])
    path.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE", "SEARX"))}
    r = subprocess.run([sluice_bin, "check", "--offline", "-c", str(path)],
                       capture_output=True, text=True, timeout=10, env=env)
    assert r.returncode == 0, name + "\n" + r.stdout + r.stderr
    assert re.search(r": ok\b", r.stdout), r.stdout


# ---- what the summary counts (issue 10, item 8) -------------------------------------------

def _check_with_resolv_conf(sluice_bin, path, resolv_text, tmp_path):
    """`sluice check -c path` with /etc/resolv.conf replaced by resolv_text, in a private mount
    namespace of its own (the bind mount is seen by that one process only)."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(resolv_text)
    script = 'mount --bind "$1" /etc/resolv.conf && exec "$2" check -c "$3"'
    return subprocess.run(["unshare", "-m", "--propagation", "private", "--", "sh", "-c",
                           script, "sh", str(resolv), sluice_bin, str(path)],
                          capture_output=True, text=True, timeout=10)


def test_check_counts_the_resolvers_of_resolv_conf(sluice_bin, tmp_path):
    """Without resolver.servers, the resolvers counted are those of /etc/resolv.conf, which
    sluice will use, and the summary says where they come from."""
    path = tmp_path / "plain.yaml"
    path.write_text('ports: [80]\n')
    r = _check_with_resolv_conf(sluice_bin, path, "# test\nnameserver 192.0.2.53\n"
                                "nameserver 2001:db8::53\nsearch example.test\n", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"\b2 resolvers \(from /etc/resolv\.conf: 192\.0\.2\.53, 2001:db8::53\)",
                     r.stdout), r.stdout
    # Named in the file: those, and resolv.conf is not mentioned.
    path.write_text('resolver:\n  servers: ["192.0.2.53", "198.51.100.53", "[::1]:5353"]\n')
    r = _check_with_resolv_conf(sluice_bin, path, "nameserver 192.0.2.1\n", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"\b3 resolvers,", r.stdout) and "resolv.conf" not in r.stdout, r.stdout


@pytest.mark.parametrize("text", ["", "# only a comment\n", "ports: [80, 443]\n"],
                         ids=["empty", "comment", "no_agents_key"])
def test_check_file_without_agents_says_every_client_gets_the_top_level_policy(
        sluice_bin, tmp_path, text):
    """A file without `agents:` configures no agent: every client gets the top-level policy
    (the implicit "default"), which the summary says instead of "1 agent"."""
    path = tmp_path / "plain.yaml"
    path.write_text(text)
    rc, out = _check(sluice_bin, path)
    assert rc == 0, out
    assert "0 agents (every client gets the top-level policy)" in out, out
    assert not re.search(r"\b1 agent\b", out), out


def test_check_agents_without_default_says_unmatched_clients_are_refused(sluice_bin, tmp_path):
    path = tmp_path / "nodefault.yaml"
    path.write_text('agents:\n  - name: a\n    match: {source: ["10.1.0.0/24"]}\n'
                    '  - name: b\n    match: {source: ["10.2.0.0/24"]}\n')
    rc, out = _check(sluice_bin, path)
    assert rc == 0, out
    assert re.search(r'\b2 agents \(no "default": clients no agent matches are refused\)',
                     out), out


@pytest.mark.parametrize("text,pos", [
    # The plain scalar "127.0.0.1:3128 x" ran into a key: once reported as a bad listen address.
    ('listen:\n  http: 127.0.0.1:3128 x: y\n', "2:25"),
    # "http" is read as listen's value before the second ':' fails.
    ('listen: http: 127.0.0.1:3128\n', "1:13"),
    # listen.http was never read; its default then "overlapped" listen.admin.
    ('listen:\n  admin: "127.0.0.1:3128"\n  http: "127.0.0.1:3129\n', "4:1"),
    # A real error before the break is left for the next run, after the fix.
    ('ports: [0]\nallow: [\n', "3:1"),
], ids=["scalar_runs_into_key", "nested_key_on_one_line", "unclosed_quote_in_listen",
        "error_before_the_break"])
def test_check_yaml_syntax_error_is_the_only_error(sluice_bin, tmp_path, text, pos):
    """A YAML syntax error is reported once, at its line:column, and nothing else is."""
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    rc, out = _check(sluice_bin, path)
    assert rc == 1, out
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    assert lines[0].startswith("%s:%s: YAML syntax error: " % (path, pos)), out
