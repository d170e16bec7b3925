"""The README's "Try it" shows what a user really sees (issue 10, item 1). Its commands run
against the real binary, started as `make run` starts it (the embedded default config on
127.0.0.1:3128), inside the test namespace; what curl prints must be what the README prints,
byte for byte, and the JSON line must have the same fields with the same values (but the
timestamp, the client's port, the duration and the request id, which differ on every run)."""

import json
import os
import re
import shlex
import shutil
import subprocess
import time

import pytest

from client import RawConn, _clean_env
from sluice_proc import TIME_FACTOR, VALGRIND

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
VARYING = {"ts", "client", "duration_ms", "id"}


def try_it_section():
    text = open(README, encoding="utf-8").read()
    m = re.search(r"^## Try it\n(.*?)^## ", text, re.S | re.M)
    assert m, "README has no '## Try it' section"
    return m.group(1)


def shell_examples(section):
    """[(command, expected output)] of the ```sh block: '$ ' lines and what follows them."""
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    examples, cmd, out = [], None, []
    for line in block.splitlines():
        if line.startswith("$ "):
            if cmd is not None:
                examples.append((cmd, "\n".join(out)))
            cmd, out = line[2:], []
        else:
            out.append(line)
    if cmd is not None:
        examples.append((cmd, "\n".join(out)))
    return examples


def json_example(section):
    m = re.search(r"```json\n(.*?)\n```", section, re.S)
    assert m, "the Try it section shows no log line"
    return json.loads(m.group(1))


def command_words(cmd):
    """The command as a word list, its shell comment dropped."""
    return shlex.split(cmd, comments=True)


@pytest.fixture
def made_run(sluice_bin, harness, tmp_path):
    """sluice as `make run` starts it: no -c, so the embedded default config."""
    if VALGRIND:
        pytest.skip("the embedded default config loads the seccomp filter, which valgrind's "
                    "own system calls do not pass")
    out = open(tmp_path / "stdout", "wb")
    err = open(tmp_path / "stderr", "wb")
    proc = subprocess.Popen([sluice_bin], stdout=out, stderr=err, cwd=tmp_path)
    deadline = time.monotonic() + 5 * TIME_FACTOR
    while b"listening on http://127.0.0.1:3128" not in (tmp_path / "stderr").read_bytes():
        assert proc.poll() is None, (tmp_path / "stderr").read_text()
        assert time.monotonic() < deadline, "sluice did not listen on 127.0.0.1:3128"
        time.sleep(0.02)
    yield tmp_path
    proc.terminate()
    proc.wait(10)
    out.close()
    err.close()


def test_the_readme_try_it_shows_what_a_user_sees(made_run, canaries):
    section = try_it_section()
    examples = shell_examples(section)
    assert examples[0][0].startswith("make run"), examples[0]
    shown = [(c, o) for c, o in examples if o.strip()]
    assert shown, "no command in Try it shows its output"
    before = canaries.snapshot()
    for cmd, want in shown:
        words = command_words(cmd)
        assert words[0] == "curl", cmd
        r = subprocess.run(words, capture_output=True, env=_clean_env(), timeout=20)
        got = r.stdout.decode("utf-8").replace("\r\n", "\n").rstrip("\n")
        assert got == want.rstrip("\n"), "README shows:\n%s\n\nsluice answers:\n%s" % (want, got)
    canaries.assert_unchanged(before)
    deadline = time.monotonic() + 3 * TIME_FACTOR
    while not (made_run / "stdout").read_bytes().endswith(b"\n"):
        assert time.monotonic() < deadline, "no log line"
        time.sleep(0.02)
    lines = [json.loads(x) for x in (made_run / "stdout").read_text().splitlines()]
    want = json_example(section)
    got = lines[-1]
    assert sorted(got) == sorted(want), "fields differ: README %s, sluice %s" % (
        sorted(want), sorted(got))
    assert list(got) == list(want), "field order differs: %s vs %s" % (list(want), list(got))
    for k in want:
        if k not in VARYING:
            assert got[k] == want[k], "field %r: README %r, sluice %r" % (k, want[k], got[k])


def test_the_readme_shows_literal_spellings_that_get_the_same_answer(made_run, canaries):
    """The spellings the README lists after the example are refused the same way."""
    section = try_it_section()
    spellings = re.findall(r"`(http://[^`]+/)`", section.split("```json")[1])
    assert len(spellings) >= 3, spellings
    before = canaries.snapshot()
    for url in spellings:
        r = subprocess.run(["curl", "-s", "-i", "-x", "http://127.0.0.1:3128", url],
                           capture_output=True, env=_clean_env(), timeout=20)
        head = r.stdout.decode("latin-1").split("\r\n")
        assert head[0] == "HTTP/1.1 403 Forbidden", (url, head[:3])
        assert "error=destination_ip_prohibited" in head[1], (url, head[1])
    canaries.assert_unchanged(before)
    # curl rewrites the spellings itself; a client that sends one raw has it logged.
    shown = re.search(r'`"host_raw":"([^"]+)"`', section)
    assert shown, "the README no longer says how a raw spelling is logged"
    with RawConn(("127.0.0.1", 3128)) as c:
        c.send(b"GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n" % ((shown.group(1).encode(),) * 2))
        assert c.read_response().status == 403
    deadline = time.monotonic() + 3 * TIME_FACTOR
    while True:
        lines = [json.loads(x) for x in (made_run / "stdout").read_text().splitlines()]
        if any(e.get("host_raw") == shown.group(1) for e in lines):
            break
        assert time.monotonic() < deadline, lines
        time.sleep(0.02)
    canaries.assert_unchanged(before)


def dns_section():
    text = open(README, encoding="utf-8").read()
    m = re.search(r"^### DNS for agents\n(.*?)^## ", text, re.S | re.M)
    assert m, "README has no '### DNS for agents' section"
    return m.group(1)


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig (bind9-dnsutils) is not installed")
def test_the_readme_dns_example_shows_what_a_user_sees(sluice_bin, harness, dns, tmp_path):
    """The README's DNS example, run as it is written (its config on 127.0.0.1:3128 and :5300,
    resolving through the test's DNS server, which holds the README's name): what dig prints
    is what the README prints, but the message id; the refused name is never asked upstream."""
    section = dns_section()
    config = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    (tmp_path / "readme-dns.yaml").write_text(
        config + 'resolver:\n  servers: ["127.0.0.1:5353"]\nseccomp: false\n')
    dns.set("pypi.org", a=["151.101.0.223"])  # an answer only: nothing connects to it
    err = open(tmp_path / "stderr", "wb")
    proc = subprocess.Popen([sluice_bin, "-c", str(tmp_path / "readme-dns.yaml")],
                            stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 5 * TIME_FACTOR
        while b"listening on dns 127.0.0.1:5300" not in (tmp_path / "stderr").read_bytes():
            assert proc.poll() is None, (tmp_path / "stderr").read_text()
            assert time.monotonic() < deadline, "sluice did not listen on 127.0.0.1:5300"
            time.sleep(0.02)
        for cmd, want in shell_examples(section):
            r = subprocess.run(cmd, shell=True, capture_output=True, timeout=20)
            got = r.stdout.decode().rstrip("\n")
            norm = lambda t: re.sub(r"id: \d+", "id: N", t)
            assert norm(got) == norm(want.rstrip("\n")), \
                "README shows:\n%s\n\nsluice answers:\n%s" % (want, got)
        assert dns.queries("c2VjcmV0.attacker.example") == 0
    finally:
        proc.terminate()
        proc.wait(10)
        err.close()
        dns.reset()


def test_the_readme_credentials_example_shows_what_a_user_sees(sluice_bin, tmp_path):
    """The README's credentials example: its config is valid as written and `sluice
    credentials` prints what the README prints."""
    readme = open(README).read()
    m = re.search(r"### Secrets that stay at the proxy\n(.*?)\n### ", readme, re.S)
    assert m, "README has no '### Secrets that stay at the proxy' section"
    section = m.group(1)
    config = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    (tmp_path / "sluice.yaml").write_text(config)
    [(cmd, want)] = shell_examples(section)
    assert cmd.startswith("sluice ")
    r = subprocess.run(sluice_bin + cmd[len("sluice"):], shell=True, cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip("\n") == want.rstrip("\n")
