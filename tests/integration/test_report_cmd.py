"""From report mode to enforce in one step (issue 4, item 3): run an agent in report mode,
turn its decision log into a policy with `sluice report`, enforce that policy, and find that
what the agent did keeps working while everything else is refused."""

import subprocess

import yaml_lite
from checks import assert_refused
from client import get


def test_report_log_becomes_an_enforced_policy(sluice, sluice_bin, tmp_path):
    p = sluice(config={"mode": "report", "allow": ["public.test"]})
    # public.test is allowed; public6.test and the 8080 port would be denied (reported).
    for url in ("http://public.test/echo", "http://public6.test/echo",
                "http://public.test:8080/echo", "http://public6.test/bytes/10"):
        assert get(p.addr, url).status == 200
    # The built-in block is never relaxed, and never suggested.
    assert get(p.addr, "http://169.254.169.254/").status == 403
    lines = p.wait_logs(count=5)
    assert {e["decision"] for e in lines} == {"allow", "report", "deny"}, lines
    log = tmp_path / "decisions.jsonl"
    log.write_bytes(p.stdout_bytes())

    r = subprocess.run([sluice_bin, "report", str(log)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    suggested = yaml_lite.allow_lists(r.stdout)
    assert set(suggested) == {"default"}, r.stdout
    allow = suggested["default"]
    assert "public.test" in allow and "public6.test" in allow, r.stdout
    assert "public.test:8080" in allow, r.stdout
    assert not any("169.254" in a for a in allow), r.stdout
    assert "mode: enforce" in r.stdout

    # One step: the suggested list, enforced.
    q = sluice(config={"mode": "enforce", "allow": allow})
    for url in ("http://public.test/echo", "http://public6.test/echo",
                "http://public.test:8080/echo"):
        assert get(q.addr, url).status == 200, url
    assert_refused(get(q.addr, "http://www.public.test/echo"), 403, "http_request_denied")
    assert_refused(get(q.addr, "http://public6.test:8080/echo"), 403, "http_request_denied")


def test_report_without_usable_lines_fails(sluice_bin, tmp_path):
    log = tmp_path / "empty.jsonl"
    log.write_text("not json\n")
    r = subprocess.run([sluice_bin, "report", str(log)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1
