"""From report mode to enforce in one step (issue 4, item 3): run an agent in report mode,
turn its decision log into a policy with `sluice report`, enforce that policy, and find that
what the agent did keeps working while everything else is refused. Routes are never suggested
as allow entries (issue 10, item 6)."""

import json
import re
import subprocess

import yaml_lite
from agents_util import SRC_CODER, SRC_RESEARCH, get_from
from checks import assert_refused
from client import RawConn, connect_req, get
from searx_stub import SEARX_IP, searx  # noqa: F401 (searx is a fixture)


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


# ---- routes are never suggested (issue 10 item 6) -----------------------------------------

def _report(sluice_bin, *args):
    r = subprocess.run([sluice_bin, "report"] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _agent_entry(text, agent):
    """The lines of one agent's entry in the report."""
    m = re.search(r"(?ms)^  - name: %s\n(.*?)(?=^  - name: |\Z)" % re.escape(agent), text)
    assert m, "no entry for %s in:\n%s" % (agent, text)
    return m.group(1)


def test_report_never_suggests_a_route_host(sluice, sluice_bin, tmp_path, searx):  # noqa: F811
    """A route is matched by its host before any allow rule, and only routes[].agents decides
    who may use it: an allow entry for the host would never be used, and a suggestion of one
    reads as if enforcing the list were what keeps the route open. The report says instead
    which agents used the route and which were refused. The POST is refused by methods in
    report mode, so its line's rule names the methods rule, not the route: it is recognised by
    its host, from the route's other lines, or from the config given with -c."""
    route = {"host": "search.internal", "upstream": "http://%s:8080" % SEARX_IP,
             "agents": ["research"]}
    p = sluice(config={"agents": [
        {"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]}, "mode": "report",
         "allow": ["public.test"], "methods": ["GET"]},
        {"name": "coder", "match": {"source": [SRC_CODER + "/32"]}, "mode": "report",
         "allow": ["public.test"]},
    ], "routes": [route]})
    search = "http://search.internal/search?q=sluice&format=json"
    assert get_from(p.addr, search, SRC_RESEARCH).status == 200
    assert get_from(p.addr, "http://search.internal/echo", SRC_RESEARCH, method="POST",
                    body=b"q=x").status == 200
    assert get_from(p.addr, "http://public2.test/echo", SRC_RESEARCH).status == 200
    assert get_from(p.addr, search, SRC_CODER).status == 403
    lines = p.wait_logs(count=4)
    by = {(e["agent"], e["method"], e["host"]): e for e in lines}
    assert by[("research", "GET", "search.internal")]["rule"].startswith("route: ")
    assert by[("research", "POST", "search.internal")]["rule"].startswith("methods:")
    assert by[("coder", "GET", "search.internal")]["reason"] == "route_not_allowed"
    log = tmp_path / "decisions.jsonl"
    log.write_bytes(p.stdout_bytes())

    for args in ([log], ["-c", p.proc.config_path, log]):
        out = _report(sluice_bin, *args)
        allow = yaml_lite.allow_lists(out)
        assert set(allow) == {"research", "coder"}, out
        assert not any("search.internal" in a for a in allow["research"] + allow["coder"]), \
            "a route host suggested as an allow entry (%s):\n%s" % (args, out)
        assert "public2.test" in allow["research"], out
        assert "    # used route search.internal: 2 requests" in _agent_entry(out, "research"), out
        assert "refused by route search.internal (the agent is not in its routes[].agents)" \
            in _agent_entry(out, "coder"), out
        assert "used route" not in _agent_entry(out, "coder"), out

    # Only the POST's line: nothing in the log names the route, the config does.
    post = tmp_path / "post.jsonl"
    post.write_text(json.dumps(by[("research", "POST", "search.internal")]) + "\n")
    assert "search.internal" in yaml_lite.allow_lists(_report(sluice_bin, post))["research"]
    out = _report(sluice_bin, "--config", p.proc.config_path, post)
    assert yaml_lite.allow_lists(out) == {"research": []}, out
    assert "    # used route search.internal: 1 request" in out, out


def test_report_config_must_be_valid(sluice_bin, tmp_path):
    log = tmp_path / "decisions.jsonl"
    log.write_text('{"agent":"a","host":"pypi.org","port":443,"decision":"allow",'
                   '"reason":"allowed"}\n')
    bad = tmp_path / "bad.yaml"
    bad.write_text("routes: [{host: 10.0.0.1, upstream: 'http://x'}]\n")
    r = subprocess.run([sluice_bin, "report", "-c", str(bad), str(log)], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 1 and r.stdout == "", (r.stdout, r.stderr)
    assert "%s:1:" % bad in r.stderr and "is an IP address" in r.stderr, r.stderr
    r = subprocess.run([sluice_bin, "report", "-c", str(tmp_path / "missing.yaml"), str(log)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "cannot read" in r.stderr, r.stderr
    r = subprocess.run([sluice_bin, "report", str(log), "-c"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 2, r.stderr


def test_report_counts_a_tunnel_once_from_its_open_and_end_lines(sluice, sluice_bin, tmp_path):
    """Issue 10: a tunnel writes an open line and an end line; `sluice report` counts the
    request once."""
    p = sluice(config={"mode": "report", "allow": ["public.test"]})
    for _ in range(2):
        with RawConn(p.addr) as c:
            c.send(connect_req("public6.test:443"))
            assert c.read_response("CONNECT").status == 200
    lines = p.wait_logs({"method": "CONNECT"}, count=2)
    opens = p.wait_logs({"method": "CONNECT", "event": "open"}, count=2, opens=True)
    assert len(lines) == 2 and len(opens) == 2, p.logs(opens=True)
    assert {e["id"] for e in lines} == {e["id"] for e in opens}
    log = tmp_path / "decisions.jsonl"
    log.write_bytes(p.stdout_bytes())
    r = subprocess.run([sluice_bin, "report", str(log)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    assert "from 2 log lines" in r.stdout, r.stdout
    assert "public6.test  # 2 requests" in r.stdout, r.stdout
