"""The decision log: one JSON object per line on stdout per request or tunnel, with the fields
operators and agents rely on (docs/logs.md)."""

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import time

from agents_util import config_text, reload
from checks import assert_log_line
from client import RawConn, connect_req, get, request
from sluice_proc import TIME_FACTOR, VALGRIND, free_port


def test_allowed_request_log_line(proxy):
    r = get(proxy.addr, "http://public.test/bytes/100000")
    assert r.status == 200
    [e] = proxy.wait_logs({"host": "public.test"})
    assert_log_line(e, method="GET", host="public.test", port=80, decision="allow",
                    reason="allowed", ip="192.0.2.10", status=200)
    assert isinstance(e["ts"], str) and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", e["ts"]), e
    assert re.match(r"(127\.0\.0\.1|\[127\.0\.0\.1\]):\d+$", e["client"]), e
    assert isinstance(e["rule"], str)
    assert isinstance(e["bytes_up"], int) and e["bytes_up"] >= 0
    assert isinstance(e["bytes_down"], int) and e["bytes_down"] >= 100000, e
    assert isinstance(e["duration_ms"], (int, float)) and e["duration_ms"] >= 0


def test_upload_bytes_are_counted(proxy):
    body = b"u" * 200000
    r = get(proxy.addr, "http://public.test/upload", method="POST", body=body)
    assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()
    [e] = proxy.wait_logs({"host": "public.test"})
    assert e["bytes_up"] >= len(body), e


def test_denied_request_log_line_names_rule(proxy, canaries):
    r = get(proxy.addr, "http://internal.test/")
    assert r.status == 403
    [e] = proxy.wait_logs({"host": "internal.test"})
    assert_log_line(e, method="GET", port=80, decision="deny", reason="ip_non_global",
                    ip="10.0.0.1", status=403)
    assert e["rule"], "denial without a rule: %r" % e


def test_each_keepalive_request_gets_its_own_line(proxy):
    with RawConn(proxy.addr) as c:
        for path in ("/echo", "/bytes/10", "/status/404"):
            c.send(b"GET http://public.test%s HTTP/1.1\r\nHost: public.test\r\n\r\n"
                   % path.encode())
            c.read_response()
    lines = proxy.wait_logs({"host": "public.test"}, count=3)
    assert [e["status"] for e in lines] == [200, 200, 404], lines


def test_connect_tunnel_gets_one_line(proxy):
    with RawConn(proxy.addr) as c:
        c.send(connect_req("public.test:443"))
        assert c.read_response("CONNECT").status == 200
        c.send(b"x" * 1000)
        got = b""
        while len(got) < 1000:
            got += c.recv_some()
    lines = proxy.wait_logs({"method": "CONNECT"})
    assert len(lines) == 1, proxy.logs()
    assert_log_line(lines[0], host="public.test", port=443, decision="allow", reason="allowed",
                    ip="192.0.2.10")


def test_log_stays_one_valid_json_object_per_line_for_hostile_input(proxy):
    hostile = [
        b'GET http://pub"lic.test/ HTTP/1.1\r\nHost: pub"lic.test\r\n\r\n',
        b"GET http://pub\\lic.test/ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET http://\xff\xfe.test/ HTTP/1.1\r\nHost: \xff\xfe.test\r\n\r\n",
        b"G\"E\\T http://public.test/ HTTP/1.1\r\nHost: public.test\r\n\r\n",
        b"GET http://public.test/\x1b[31m HTTP/1.1\r\nHost: public.test\r\n\r\n",
        b"CONNECT \"evil\n\":443 HTTP/1.1\r\n\r\n",
        b"\xc3\x28 \xa0\xa1 HTTP/1.1\r\n\r\n",
    ]
    for raw in hostile:
        try:
            request(proxy.addr, raw)
        except Exception:
            pass  # only the log matters here
    lines = proxy.wait_logs(count=len(hostile))
    # logs() already failed the test if any stdout line was not a JSON object.
    assert len(lines) >= len(hostile), lines
    raw_out = proxy.stdout_bytes()[proxy.mark:]
    for line in raw_out.splitlines():
        json.loads(line)
        assert b"\x1b" not in line and b"\n" not in line


# ---- issue 10: open tunnels, ids, paths, host spellings, the user a 407 tried, log.file ----

def _tunnel(addr, authority="public.test:443"):
    """An established tunnel to the echo server, one round trip done, left open."""
    c = RawConn(addr)
    c.send(connect_req(authority))
    assert c.read_response("CONNECT").status == 200
    c.send(b"ping")
    got = b""
    while len(got) < 4:
        got += c.recv_some()
    assert got == b"ping"
    return c


def test_open_tunnel_is_logged_while_open_and_paired_by_id(proxy):
    """Issue 10: a tunnel that is open now shows in the log (after its 200), and its end line
    repeats the open line's id."""
    c = _tunnel(proxy.addr)
    try:
        [o] = proxy.wait_logs({"method": "CONNECT"}, opens=True)
        assert_log_line(o, host="public.test", port=443, decision="allow", reason="allowed",
                        status=200, ip="192.0.2.10", bytes_up=0, bytes_down=0, event="open")
        assert isinstance(o["id"], int) and o["id"] > 0, o
        # Still open: no end line yet.
        assert proxy.logs() == [], proxy.logs()
    finally:
        c.close()
    [e] = proxy.wait_logs({"method": "CONNECT"})
    assert_log_line(e, host="public.test", decision="allow", status=200, event="end")
    assert e["id"] == o["id"], (o, e)
    assert e["bytes_up"] >= 4 and e["bytes_down"] >= 4, e
    assert [x["event"] for x in proxy.logs(opens=True)] == ["open", "end"]


def test_refused_tunnel_has_no_open_line(proxy):
    with RawConn(proxy.addr) as c:
        c.send(connect_req("internal.test:443"))
        assert c.read_response("CONNECT").status == 403
    [e] = proxy.wait_logs({"method": "CONNECT"})
    assert e["event"] == "end" and e["decision"] == "deny", e
    assert proxy.logs(opens=True) == [e]


def test_every_line_has_an_id_unique_across_workers(sluice):
    """Ids are per process, not per worker: 40 connections spread over 4 workers (and the
    requests of one keep-alive connection) never share one."""
    p = sluice(config={"workers": 4})
    for _ in range(40):
        assert get(p.addr, "http://public.test/echo").status == 200
    with RawConn(p.addr) as c:
        for _ in range(3):
            c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n")
            c.read_response()
    lines = p.wait_logs({"host": "public.test"}, count=43)
    assert len(lines) == 43, lines
    ids = [e["id"] for e in lines]
    assert all(isinstance(i, int) and i > 0 for i in ids), ids
    assert len(set(ids)) == len(ids), sorted(ids)
    assert {e["event"] for e in lines} == {"end"}


def test_plain_http_line_has_the_path_without_the_query(proxy):
    r = get(proxy.addr, "http://public.test/echo/a%20b?token=s3cret&q=1")
    assert r.status == 200
    [e] = proxy.wait_logs({"host": "public.test"})
    assert e["path"] == "/echo/a%20b", e
    assert "s3cret" not in json.dumps(e), e
    assert "host_raw" not in e, e
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test?x=1 HTTP/1.1\r\nHost: public.test\r\n\r\n")
        assert c.read_response().status == 404  # the origin has nothing at /
    lines = proxy.wait_logs({"host": "public.test"}, count=2)
    assert lines[1]["path"] == "/", lines


def test_log_query_keep_keeps_the_query(sluice):
    p = sluice(config={"log": {"query": "keep"}})
    assert get(p.addr, "http://public.test/echo?q=1&r=%22").status == 200
    [e] = p.wait_logs({"host": "public.test"})
    assert e["path"] == "/echo?q=1&r=%22", e


def test_long_path_is_cut_at_1024_bytes(proxy):
    path = "/echo/" + "p" * 3000
    get(proxy.addr, "http://public.test" + path)
    [e] = proxy.wait_logs({"host": "public.test"})
    assert e["path"] == path[:1024], len(e["path"])


def test_host_raw_shows_the_spelling_of_an_ip_literal(proxy, canaries):
    """Issue 10: 2852039166 was logged as 169.254.169.254 with nothing saying how the agent
    wrote it."""
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://2852039166/latest/meta-data/?x=1 HTTP/1.1\r\n"
               b"Host: 2852039166\r\n\r\n")
        assert c.read_response().status == 403
    canaries.assert_unchanged(before)
    [e] = proxy.wait_logs({"host": "169.254.169.254"})
    assert_log_line(e, decision="deny", reason="ip_metadata", status=403)
    assert e["host_raw"] == "2852039166", e
    assert e["path"] == "/latest/meta-data/", e


def test_host_raw_on_connect_and_only_when_it_differs(proxy):
    c = _tunnel(proxy.addr, "Public.TEST.:443")
    c.close()
    [e] = proxy.wait_logs({"method": "CONNECT"})
    assert e["host"] == "public.test" and e["host_raw"] == "Public.TEST.", e
    assert "path" not in e, e
    with RawConn(proxy.addr) as c:
        c.send(connect_req("[2001:db8::10]:443"))
        assert c.read_response("CONNECT").status == 200
    lines = proxy.wait_logs({"method": "CONNECT"}, count=2)
    assert lines[1]["host"] == "2001:db8::10" and "host_raw" not in lines[1], lines


def test_407_line_names_the_user_that_was_tried(sluice):
    """Issue 10: the 407 line said "agent":"" and nothing else, so nobody could tell whose
    token was wrong. The user name is logged; the token never is."""
    token = "tok-" + "z" * 20
    p = sluice(config={"agents": [{"name": "coder", "match": {
        "token_sha256": hashlib.sha256(token.encode()).hexdigest()}}]})
    for user, tried in (("coder", "wrong-token"), ("nobody", token), ('e"vil\xe9', "x")):
        cred = base64.b64encode(("%s:%s" % (user, tried)).encode("latin-1")).decode()
        with RawConn(p.addr) as c:
            c.send(("GET http://public.test/ HTTP/1.1\r\nHost: public.test\r\n"
                    "Proxy-Authorization: Basic %s\r\n\r\n" % cred).encode())
            assert c.read_response().status == 407
    lines = p.wait_logs({"host": "public.test"}, count=3)
    # Workers write their lines independently: the order of arrival is not the order sent.
    assert sorted(e["user"] for e in lines) == sorted(["coder", "nobody", 'e"vil\xe9']), lines
    for e in lines:
        assert_log_line(e, agent="", decision="deny", reason="auth_required", status=407)
    # No credentials: no user field.
    with RawConn(p.addr) as c:
        c.send(b"GET http://public.test/ HTTP/1.1\r\nHost: public.test\r\n\r\n")
        assert c.read_response().status == 407
    lines = p.wait_logs({"host": "public.test"}, count=4)
    assert "user" not in lines[3], lines
    out = p.proc.stdout_bytes().decode("utf-8", "replace")
    assert token not in out and "wrong-token" not in out


# ---- log.file and SIGUSR1 ----

def _wait_for(pred, what, timeout=3.0):
    deadline = time.monotonic() + timeout * TIME_FACTOR
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _file_lines(path):
    try:
        with open(path, "rb") as f:
            return [json.loads(l) for l in f.read().splitlines()]
    except FileNotFoundError:
        return []


def test_log_file_is_reopened_on_sigusr1_under_seccomp(sluice, tmp_path):
    """Issue 10: log.file, reopened on SIGUSR1 the way logrotate expects (rename, then signal).
    The default seccomp filter stays on: the reopen must need no call outside it."""
    log = tmp_path / "decisions.log"
    p = sluice(config={"log": {"file": str(log)}})
    assert get(p.addr, "http://public.test/echo?one").status == 200
    _wait_for(lambda: len(_file_lines(log)) == 1, "first line in the log file")
    assert p.proc.stdout_bytes() == b""
    status = open("/proc/%d/status" % p.proc.proc.pid).read()
    # Under valgrind the filter is off (sluice_proc.BASE_CONFIG); the reopen is still tested.
    assert VALGRIND or "Seccomp:\t2" in status, status
    os.rename(log, str(log) + ".1")
    p.proc.proc.send_signal(signal.SIGUSR1)
    _wait_for(lambda: "reopened" in p.proc.stderr(), "the reopen message")
    assert log.exists()
    assert get(p.addr, "http://public.test/echo?two").status == 200
    _wait_for(lambda: len(_file_lines(log)) == 1, "a line in the new file")
    assert _file_lines(log)[0]["path"] == "/echo"
    assert len(_file_lines(str(log) + ".1")) == 1
    assert p.proc.alive(), p.proc.stderr()
    assert p.proc.stdout_bytes() == b""


def test_log_file_reopen_failure_keeps_the_open_file(sluice, tmp_path):
    log = tmp_path / "decisions.log"
    p = sluice(config={"log": {"file": str(log)}})
    os.rename(log, str(log) + ".1")
    os.mkdir(log)  # the tests run as root: a directory is what no one can open for writing
    p.proc.proc.send_signal(signal.SIGUSR1)
    _wait_for(lambda: "cannot reopen" in p.proc.stderr(), "the failure message")
    assert "sluice: SIGUSR1: cannot reopen %s: Is a directory; the log stays on the file " \
        "open now" % log in p.proc.stderr(), p.proc.stderr()
    assert get(p.addr, "http://public.test/echo").status == 200
    _wait_for(lambda: len(_file_lines(str(log) + ".1")) == 1, "a line in the old file")
    assert p.proc.alive(), p.proc.stderr()


def test_sigusr1_without_log_file_is_harmless(proxy):
    proxy.proc.proc.send_signal(signal.SIGUSR1)
    _wait_for(lambda: "no log.file to reopen" in proxy.proc.stderr(), "the message")
    assert proxy.proc.alive()
    assert get(proxy.addr, "http://public.test/echo").status == 200
    assert proxy.wait_logs({"host": "public.test"})


def test_log_file_that_cannot_be_opened_stops_the_start(sluice_bin, tmp_path):
    for path, why in ((tmp_path / "missing" / "d.log", "No such file or directory"),
                      (tmp_path, "Is a directory")):
        cfg = tmp_path / "bad.yaml"
        cfg.write_text("listen:\n  http: \"127.0.0.1:%d\"\nlog:\n  file: %s\n"
                       % (free_port(), path))
        r = subprocess.run([sluice_bin, "-c", str(cfg)], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 1, r
        assert "sluice: log.file: cannot open %s: %s" % (path, why) in r.stderr, r.stderr


def test_reload_keeps_the_log_file_and_applies_log_query(sluice, tmp_path):
    """A reload that changes log.file says a restart is needed and keeps logging where it
    did; log.query follows the reload."""
    log, other = tmp_path / "a.log", tmp_path / "b.log"
    p = sluice(config={"log": {"file": str(log)}})
    err = reload(p, config_text(p, {"log": {"file": str(other), "query": "keep"}}))
    assert "log.file changes only on restart; the log stays on %s" % log in err, err
    assert get(p.addr, "http://public.test/echo?q=1").status == 200
    _wait_for(lambda: len(_file_lines(log)) == 1, "a line in the first file")
    assert _file_lines(log)[0]["path"] == "/echo?q=1"
    assert not other.exists()
    p.proc.proc.send_signal(signal.SIGUSR1)
    _wait_for(lambda: "reopened %s" % log in p.proc.stderr(), "reopen of the path in force")
