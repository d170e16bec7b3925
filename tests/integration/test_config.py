"""The config file as operators meet it: every example validates (examples never rot), errors
name file:line:column, and a bad config never starts a proxy."""

import glob
import os
import re
import signal
import subprocess
import time

import pytest

from fake_servers import listening_on
from sluice_proc import TIME_FACTOR, VALGRIND

EXAMPLES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                                         "*.yaml")))


@pytest.mark.parametrize("path", EXAMPLES, ids=[os.path.basename(p) for p in EXAMPLES])
def test_example_config_validates(sluice_bin, path, tmp_path):
    """Each example validates once the secrets it names exist: every variable it names is set,
    and every secret file and CA file it names is provided (the path rewritten to a file of the
    test; a CA file is a throwaway self-signed certificate, since check loads it)."""
    text = open(path).read()
    env = dict(os.environ)
    for var in re.findall(r"(?:token_env:|\{env:)\s*([A-Za-z_][A-Za-z0-9_]*)", text):
        env[var] = "example-secret"
    for i, secret in enumerate(sorted(set(
            re.findall(r"(?:token_file:|\{file:)\s*(/[^\s},]+)", text)))):
        stand_in = tmp_path / ("secret%d" % i)
        stand_in.write_text("example-secret\n")
        text = text.replace(secret, str(stand_in))
    for i, ca in enumerate(sorted(set(re.findall(r"ca_file:\s*(/\S+)", text)))):
        stand_in = tmp_path / ("ca%d.pem" % i)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        str(tmp_path / ("ca%d.key" % i)), "-out", str(stand_in), "-days", "2",
                        "-subj", "/CN=example CA"], check=True, capture_output=True, timeout=30)
        text = text.replace(ca, str(stand_in))
    cfg = tmp_path / os.path.basename(path)
    cfg.write_text(text)
    r = subprocess.run([sluice_bin, "check", "-c", str(cfg)], capture_output=True, text=True,
                       timeout=10, env=env)
    assert r.returncode == 0, r.stdout + r.stderr


# Examples that run only where a deployment's files exist, and why.
DEPLOYMENT_ONLY = {"search-route.yaml": "its https route needs the deployment's CA file and API "
                                        "key file (ca_file, {file: ...})"}
# A comment line of an example that says how to run it: "# VAR=value ... make run CONFIG=FILE".
RUN_LINE = re.compile(r"^#\s*((?:[A-Za-z_][A-Za-z0-9_]*=\S+\s+)*)make run CONFIG=(\S+)\s*$", re.M)


@pytest.mark.parametrize("path", EXAMPLES, ids=[os.path.basename(p) for p in EXAMPLES])
def test_example_runs_with_the_variables_it_documents(sluice_bin, path, tmp_path):
    """`make run CONFIG=examples/X.yaml` (that is, sluice -c FILE) starts and listens with the
    environment the example documents and nothing else: an example that names environment
    variables documents its run line with them ("# VAR=value make run CONFIG=..."). Only the
    examples in DEPLOYMENT_ONLY may name files a deployment provides."""
    if os.path.basename(path) in DEPLOYMENT_ONLY:
        pytest.skip(DEPLOYMENT_ONLY[os.path.basename(path)])
    text = open(path).read()
    named = set(re.findall(r"(?:token_env:|\{env:)\s*([A-Za-z_][A-Za-z0-9_]*)", text))
    runs = [m for m in RUN_LINE.finditer(text)
            if m.group(2) == "examples/" + os.path.basename(path)]
    assert runs or not named, "%s names %s but documents no make run line" % (path, named)
    documented = dict(a.split("=", 1) for a in runs[0].group(1).split()) if runs else {}
    assert named <= set(documented), "run line sets %s, the file names %s" % (documented, named)
    env = {k: v for k, v in os.environ.items() if k not in named}
    env.update(documented)
    if VALGRIND:
        # valgrind's own system calls are not in sluice's filter (sluice_proc.BASE_CONFIG).
        assert "seccomp:" not in text, path
        path = str(tmp_path / os.path.basename(path))
        open(path, "w").write(text + "\nseccomp: false\n")
    p = subprocess.Popen([sluice_bin, "-c", path], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 5 * TIME_FACTOR
        while not listening_on("127.0.0.1", 3128) and p.poll() is None:
            assert time.monotonic() < deadline, "%s: not listening on 3128 in time" % path
            time.sleep(0.02)
        assert p.poll() is None, "%s did not start: %s" % (path, p.stderr.read().decode())
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10 * TIME_FACTOR)
    assert p.returncode == 0, err.decode()


def test_check_reports_every_error_with_line_and_column(sluice_bin, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text('listen:\n  http: "127.0.0.1:3128"\nports: [80, "x"]\n'
                    'timeouts:\n  dns: fast\nbogus: 1\n')
    r = subprocess.run([sluice_bin, "check", "-c", str(path)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    for line, key in ((3, "ports"), (5, "timeouts.dns"), (6, "bogus")):
        assert re.search(r"bad\.yaml:%d:\d+: .*%s" % (line, re.escape(key)), out), out


@pytest.mark.parametrize("text", [
    'listen:\n  http: "127.0.0.1:notaport"\n',
    'ips:\n  allow: ["10.0.0.0/33"]\n',
    'ports: [0]\n',
    'timeouts:\n  connect: -1s\n',
    'allow: [""]\n',
    'listen: [\n',
], ids=["bad_listen", "bad_cidr", "port_zero", "negative_timeout", "empty_pattern",
        "yaml_syntax"])
def test_invalid_config_is_rejected(sluice_bin, tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    r = subprocess.run([sluice_bin, "check", "-c", str(path)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1, (text, r.stdout, r.stderr)
    assert "bad.yaml:" in r.stdout + r.stderr


def test_proxy_does_not_start_with_invalid_config(sluice_bin, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text('listen:\n  http: "127.0.0.1:3999"\nports: ["x"]\n')
    r = subprocess.run([sluice_bin, "-c", str(path)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode != 0
    assert "bad.yaml:3:" in r.stderr, r.stderr
