"""The console's APIs and approvals (issue 17): a request outside policy from an agent in mode ask
is held — a plain request before forwarding, a CONNECT before its 200 — until an operator
answers on the admin listener (once, for this agent, for every agent, or deny), or
approvals.timeout denies it with guidance. Standing answers are kept in approvals.file and
survive a restart and a reload; the built-in block is never asked about. Live decisions stream
as Server-Sent Events; /api/decisions and /api/agents show what happened."""

import hashlib
import json
import re
import signal
import socket
import threading
import time

from client import RawConn, connect_req, get, tunnel_roundtrip
from fake_servers import listening_on
from sluice_proc import free_port, merge

ALLOWED = "public.test"
ASKED = "public2.test"  # 198.51.100.10 in the test DNS: an origin that counts requests


def start(sluice, tmp_path, config=None, admin_host="127.0.0.1"):
    port = free_port()
    base = {
        "listen": {"admin": "%s:%d" % (admin_host, port)},
        "mode": "ask",
        "allow": [ALLOWED],
        "approvals": {"timeout": "5s", "file": str(tmp_path / "approvals.yaml")},
    }
    p = sluice(config=merge(base, config or {}))
    deadline = time.monotonic() + 5
    while not listening_on(admin_host, port):
        assert time.monotonic() < deadline, "admin listener never came up:\n" + p.stderr()
        time.sleep(0.02)
    p.admin = (admin_host, port)
    return p


def api(p, path, method="GET", body=None, headers=()):
    h = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % p.admin]
    if body is not None:
        data = json.dumps(body).encode()
        h += ["Content-Type: application/json", "Content-Length: %d" % len(data)]
    else:
        data = b""
    h += ["%s: %s" % kv for kv in headers]
    with RawConn(p.admin, 5.0) as c:
        c.send(("\r\n".join(h) + "\r\n\r\n").encode() + data)
        r = c.read_final_response(method)
    return r


def api_json(p, path, **kw):
    r = api(p, path, **kw)
    return r.status, json.loads(r.body or b"{}")


def wait_pending(p, host, count=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        status, doc = api_json(p, "/api/pending")
        assert status == 200, doc
        found = [e for e in doc["pending"] if e["host"] == host]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


class Background(threading.Thread):
    """Runs fn() on a thread; .result is what it returned (or the exception)."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.result = fn, None
        self.start()

    def run(self):
        try:
            self.result = self.fn()
        except Exception as e:  # noqa: BLE001 - the test looks at it
            self.result = e

    def outcome(self, timeout=10):
        self.join(timeout)
        assert not self.is_alive(), "the held request never ended"
        return self.result


def held_get(p, path="/echo"):
    return Background(lambda: get(p.addr, "http://%s%s" % (ASKED, path)))


def test_held_request_goes_on_once_approved(sluice, origins, tmp_path):
    p = start(sluice, tmp_path)
    n0 = origins.requests("198.51.100.10")
    t = held_get(p, "/echo?x=1")
    [e] = wait_pending(p, ASKED)
    assert e["agent"] == "default" and e["kind"] == "http" and e["port"] == 80, e
    assert e["method"] == "GET" and e["path"].startswith("/echo"), e
    assert e["reason"] == "domain_not_allowed" and e["held"] == 1, e
    time.sleep(0.3)
    assert t.is_alive(), "the request was not held"
    assert origins.requests("198.51.100.10") == n0, "a held request reached the origin"
    status, doc = api_json(p, "/api/pending/" + e["id"], method="POST", body={"answer": "once"})
    assert status == 200 and doc["released"] == 1 and doc["answer"] == "once", doc
    r = t.outcome()
    assert r.status == 200, r
    assert origins.requests("198.51.100.10") == n0 + 1
    [line] = p.wait_logs({"host": ASKED})
    assert line["decision"] == "allow" and line["approval"] == "once", line
    assert line["held_ms"] >= 300 and "approved once" in line["rule"], line
    # Once: the next request asks again, and a deny refuses it without reaching the origin.
    t = held_get(p)
    [e2] = wait_pending(p, ASKED)
    assert e2["id"] != e["id"]
    status, doc = api_json(p, "/api/pending/" + e2["id"], method="POST", body={"answer": "deny"})
    assert status == 200, doc
    r = t.outcome()
    assert r.status == 403 and b"denied" in r.body, r
    [_, line] = p.wait_logs({"host": ASKED}, count=2)
    assert line["reason"] == "approval_denied" and line["approval"] == "denied", line
    assert origins.requests("198.51.100.10") == n0 + 1
    # Answered entries are gone: answering again is a 404.
    status, _ = api_json(p, "/api/pending/" + e2["id"], method="POST", body={"answer": "once"})
    assert status == 404


def test_connect_held_before_its_200_and_always_survives_restart(sluice, canaries, dns,
                                                                 tmp_path):
    name = "echo.test"
    dns.set(name, a=["192.0.2.10"])  # the echo server on 443
    p = start(sluice, tmp_path)
    conns0 = canaries.count("192.0.2.10", 443)

    def tunnel():
        with RawConn(p.addr, 10.0) as c:
            c.send(connect_req(name + ":443"))
            r = c.read_response("CONNECT")
            return r, (tunnel_roundtrip(c, b"ping") if r.status == 200 else None)

    t = Background(tunnel)
    [e] = wait_pending(p, name)
    assert e["kind"] == "connect" and e["port"] == 443 and e["method"] == "CONNECT", e
    assert canaries.count("192.0.2.10", 443) == conns0, "a held CONNECT was dialled"
    status, doc = api_json(p, "/api/pending/" + e["id"], method="POST",
                           body={"answer": "agent", "by": "alice"})
    assert status == 200 and doc["persisted"] is True, doc
    r, echoed = t.outcome()
    assert r.status == 200, r
    assert echoed == b"ping"
    text = (tmp_path / "approvals.yaml").read_text()
    assert name in text and "alice via console 127.0.0.1" in text, text
    status, doc = api_json(p, "/api/approvals")
    assert [(a["agent"], a["host"], a["port"]) for a in doc["approvals"]] == [
        ("default", name, 443)], doc
    # A restart reads the file: the same CONNECT opens at once, nothing waits.
    assert p.proc.stop() is None
    p.proc.proc = None  # stopped here, not at teardown
    p2 = start(sluice, tmp_path)
    with RawConn(p2.addr, 5.0) as c:
        c.send(connect_req(name + ":443"))
        r = c.read_response("CONNECT")
        assert r.status == 200, r
        assert tunnel_roundtrip(c, b"pong") == b"pong"
    assert api_json(p2, "/api/pending")[1]["pending"] == []


def test_connections_show_what_is_open_now(sluice, canaries, dns, tmp_path):
    name = "echo.test"
    dns.set(name, a=["192.0.2.10"])  # the echo server on 443
    p = start(sluice, tmp_path, {"allow": [ALLOWED, name + ":443"]})
    with RawConn(p.addr, 10.0) as c:
        c.send(connect_req(name + ":443"))
        assert c.read_response("CONNECT").status == 200
        c.sock.sendall(b"ping")
        got = b""
        while len(got) < 4:
            got += c.sock.recv(64)
        held = held_get(p)
        wait_pending(p, ASKED)
        time.sleep(0.05)
        status, doc = api_json(p, "/api/connections")
        assert status == 200 and doc["missing_workers"] == 0, doc
        by_host = {x.get("host"): x for x in doc["connections"]}
        tun = by_host[name]
        assert tun["state"] == "tunnel" and tun["port"] == 443 and tun["method"] == "CONNECT", tun
        assert tun["agent"] == "default" and tun["age_ms"] >= 50, tun
        assert tun["bytes_up"] == 4 and tun["bytes_down"] == 4, tun
        assert by_host[ASKED]["state"] == "held", doc
        # Filters as /api/decisions has them.
        status, doc = api_json(p, "/api/connections?host=echo.test")
        assert [x["host"] for x in doc["connections"]] == [name], doc
        status, doc = api_json(p, "/api/connections?agent=nobody")
        assert doc["connections"] == [], doc
    [e] = wait_pending(p, ASKED)
    api_json(p, "/api/pending/" + e["id"], method="POST", body={"answer": "deny"})
    assert held.outcome().status == 403
    # Closed is gone.
    deadline = time.monotonic() + 3
    while True:
        hosts = [x.get("host") for x in api_json(p, "/api/connections")[1]["connections"]]
        if name not in hosts or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert name not in hosts and ASKED not in hosts, hosts


def test_timeout_denies_with_guidance(sluice, origins, tmp_path):
    p = start(sluice, tmp_path, {"approvals": {"timeout": "1s"}})
    n0 = origins.requests("198.51.100.10")
    t0 = time.monotonic()
    r = get(p.addr, "http://%s/echo" % ASKED)
    waited = time.monotonic() - t0
    assert r.status == 403, r
    assert 0.9 <= waited < 4, waited
    assert b"approval" in r.body and b"sluice approve" in r.body, r.body
    assert "approval_timeout" in (r.header("Proxy-Status") or ""), r
    [line] = p.wait_logs({"host": ASKED})
    assert line["reason"] == "approval_timeout" and line["approval"] == "timeout", line
    assert origins.requests("198.51.100.10") == n0
    assert api_json(p, "/api/pending")[1]["pending"] == []


def test_builtin_block_is_never_asked(sluice, canaries, tmp_path):
    p = start(sluice, tmp_path)
    before = canaries.snapshot()
    for url in ("http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
                "http://2852039166/", "http://localhost/"):
        r = get(p.addr, url)
        assert r.status == 403, (url, r)
    assert api_json(p, "/api/pending")[1]["pending"] == []
    canaries.assert_unchanged(before)


def test_same_destination_joins_one_entry_and_agent_answer_releases_all(sluice, origins,
                                                                        tmp_path):
    p = start(sluice, tmp_path)
    n0 = origins.requests("198.51.100.10")
    threads = [held_get(p) for _ in range(3)]
    deadline = time.monotonic() + 5
    while True:
        found = wait_pending(p, ASKED)
        if found and found[0]["held"] == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(found) == 1 and found[0]["held"] == 3, found
    status, doc = api_json(p, "/api/pending/" + found[0]["id"], method="POST",
                           body={"answer": "all", "expires": "1h"})
    assert status == 200 and doc["released"] == 3, doc
    assert all(t.outcome().status == 200 for t in threads)
    assert origins.requests("198.51.100.10") == n0 + 3
    [a] = api_json(p, "/api/approvals")[1]["approvals"]
    assert a["agent"] == "*" and "expires" in a, a
    # Who answered what, and for how long, is on the operator's stderr.
    assert "%s answered all for 1h by console 127.0.0.1 (3 requests)" % found[0]["id"] \
        in p.stderr(), p.stderr()
    # From now on the destination is allowed without asking.
    assert get(p.addr, "http://%s/echo" % ASKED).status == 200


def test_a_full_queue_refuses_rather_than_holds(sluice, origins, tmp_path):
    p = start(sluice, tmp_path, {"approvals": {"max_pending": 1}})
    t = held_get(p)
    [e] = wait_pending(p, ASKED)
    # Another request for the same entry joins it; a new destination would be a second entry.
    t2 = held_get(p)
    deadline = time.monotonic() + 5
    while wait_pending(p, ASKED)[0]["held"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    r = get(p.addr, "http://other.test/echo")
    assert time.monotonic() - t0 < 1.0, "a request beyond max_pending was held"
    assert r.status == 403 and "approval_busy" in r.header("Proxy-Status", ""), r
    [line] = p.wait_logs({"host": "other.test"})
    assert line["reason"] == "approval_busy", line
    status, doc = api_json(p, "/api/pending")
    assert [x["host"] for x in doc["pending"]] == [ASKED], doc
    api_json(p, "/api/pending/" + e["id"], method="POST", body={"answer": "once"})
    assert t.outcome().status == 200 and t2.outcome().status == 200


def test_client_that_leaves_gives_up_its_place(sluice, tmp_path):
    p = start(sluice, tmp_path)
    c = RawConn(p.addr, 5.0)
    c.send(("GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n" % (ASKED, ASKED)).encode())
    [e] = wait_pending(p, ASKED)
    c.close()
    deadline = time.monotonic() + 3
    while wait_pending(p, ASKED, timeout=0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert wait_pending(p, ASKED, timeout=0) == []
    status, _ = api_json(p, "/api/pending/" + e["id"], method="POST", body={"answer": "once"})
    assert status == 404


def test_actions_need_json_and_same_origin(sluice, tmp_path):
    p = start(sluice, tmp_path)
    t = held_get(p)
    [e] = wait_pending(p, ASKED)
    path = "/api/pending/" + e["id"]
    # A form post (what a page elsewhere can send without asking) is refused.
    r = api(p, path, method="POST", headers=[("Content-Type", "application/x-www-form-urlencoded"),
                                            ("Content-Length", "0")])
    assert r.status == 403, r
    r = api(p, path, method="POST", body={"answer": "once"},
            headers=[("Origin", "http://evil.example")])
    assert r.status == 403 and b"origin" in r.body, r
    r = api(p, path, method="POST", body={"answer": "sure"})
    assert r.status == 400, r
    r = api(p, path, method="POST", body={"answer": "once", "expires": "1h"})
    assert r.status == 400, r
    assert wait_pending(p, ASKED)[0]["id"] == e["id"], "a refused action answered"
    r = api(p, path, method="POST", body={"answer": "once"},
            headers=[("Origin", "http://%s:%d" % p.admin)])
    assert r.status == 200, r
    assert t.outcome().status == 200


def test_token_guards_a_console_off_loopback(sluice, tmp_path):
    token = "s3cret-console"
    digest = hashlib.sha256(token.encode()).hexdigest()
    # 192.0.2.10 is an address of the test namespace, not loopback.
    p = start(sluice, tmp_path, {"mode": "enforce", "console": {"token_sha256": digest}},
              admin_host="192.0.2.10")
    r = api(p, "/api/pending")
    assert r.status == 401 and "bearer" in (r.header("WWW-Authenticate") or "").lower(), r
    r = api(p, "/api/pending", headers=[("Authorization", "Bearer wrong")])
    assert r.status == 401
    r = api(p, "/api/pending", headers=[("Authorization", "Bearer " + token)])
    assert r.status == 200, r
    assert api(p, "/healthz").status == 200


def test_off_loopback_without_token_serves_metrics_not_the_console(sluice, tmp_path):
    p = start(sluice, tmp_path, {"mode": "enforce"}, admin_host="192.0.2.10")
    assert api(p, "/api/pending").status == 403
    assert api(p, "/").status == 403
    assert api(p, "/metrics").status == 200


def test_events_stream_decisions_and_pending(sluice, tmp_path):
    p = start(sluice, tmp_path)
    s = socket.create_connection(p.admin, timeout=5)
    s.sendall(("GET /api/events?host=public.test HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
               % p.admin).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        assert chunk, "the stream closed: %r" % buf
        buf += chunk
    assert b"text/event-stream" in buf.split(b"\r\n\r\n")[0]
    t0 = time.monotonic()
    assert get(p.addr, "http://%s/echo" % ALLOWED).status == 200
    while b"event: decision" not in buf and time.monotonic() - t0 < 2:
        buf += s.recv(65536)
    assert time.monotonic() - t0 < 1.0, "the decision took over a second to stream"
    events = [e for e in buf.split(b"\n\n") if b"event: decision" in e]
    lines = [json.loads(e.split(b"data: ", 1)[1]) for e in events]
    assert lines and all(l["host"] == ALLOWED for l in lines), lines
    assert lines[0]["decision"] == "allow"
    s.close()
    # The same line in /api/decisions, with filters.
    status, doc = api_json(p, "/api/decisions?host=public.test&limit=5")
    assert status == 200 and doc["decisions"][-1]["host"] == ALLOWED, doc
    status, doc = api_json(p, "/api/agents")
    [a] = [x for x in doc["agents"] if x["name"] == "default"]
    assert a["requests"] >= 1 and "open_tunnels" in a, a


def test_events_stream_announces_pending(sluice, tmp_path):
    p = start(sluice, tmp_path)
    s = socket.create_connection(p.admin, timeout=5)
    s.sendall(("GET /api/events HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % p.admin).encode())
    buf = s.recv(4096)
    t = held_get(p)
    deadline = time.monotonic() + 3
    while b"event: pending" not in buf and time.monotonic() < deadline:
        buf += s.recv(65536)
    assert b"event: pending" in buf, buf
    [e] = wait_pending(p, ASKED)
    api_json(p, "/api/pending/" + e["id"], method="POST", body={"answer": "once"})
    while b"event: answered" not in buf and time.monotonic() < deadline + 2:
        buf += s.recv(65536)
    assert b'"answer":"once"' in buf, buf
    assert t.outcome().status == 200
    s.close()
    # A new subscriber sees only what happens from now on, not the feed's past.
    s = socket.create_connection(p.admin, timeout=0.5)
    s.sendall(("GET /api/events HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % p.admin).encode())
    buf, deadline = b"", time.monotonic() + 0.5
    while time.monotonic() < deadline:
        try:
            buf += s.recv(65536)
        except socket.timeout:
            break
    assert b"text/event-stream" in buf and b"event: pending" not in buf, buf
    s.close()


def test_reload_reads_approvals_made_elsewhere(sluice, tmp_path):
    p = start(sluice, tmp_path)
    (tmp_path / "approvals.yaml").write_text(
        "approvals:\n  - agent: \"*\"\n    host: %s\n    port: 80\n    by: replica-b\n" % ASKED)
    p.proc.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if api_json(p, "/api/approvals")[1]["approvals"]:
            break
        time.sleep(0.05)
    r = get(p.addr, "http://%s/echo" % ASKED)
    assert r.status == 200, r
    [line] = p.wait_logs({"host": ASKED})
    assert "approved" in line["rule"] and "replica-b" in line["rule"], line


def test_policy_shows_the_file_in_force_without_its_secrets(sluice, tmp_path):
    token_hash = hashlib.sha256(b"agent-token").hexdigest()
    secret = tmp_path / "openai-key"
    secret.write_text("sk-the-real-key\n")
    p = start(sluice, tmp_path, {
        "agents": [{"name": "coder", "match": {"token_sha256": token_hash},
                    "allow": ["pypi.org"]}],
        "credentials": [{"name": "openai", "hosts": ["api.openai.com"],
                         "header": "Authorization: Bearer {secret}",
                         "secret": {"file": str(secret)}}],
    })
    status, doc = api_json(p, "/api/policy")
    assert status == 200, doc
    text, gen = doc["config"], doc["generation"]
    assert token_hash not in text and '"<redacted>"' in text, text
    assert "sk-the-real-key" not in text, text
    assert "pypi.org" in text and str(secret) in text and "Bearer {secret}" in text, text
    assert doc["loaded"].endswith("Z"), doc
    # A reload shows the new file, with the next generation.
    new = p.proc.config_text.replace("pypi.org", "files.pythonhosted.org")
    with open(p.proc.config_path, "w") as f:
        f.write(new)
    before = len(p.stderr())
    p.proc.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "loaded" not in p.stderr()[before:] and time.monotonic() < deadline:
        time.sleep(0.02)
    status, doc = api_json(p, "/api/policy")
    assert doc["generation"] == gen + 1, doc
    assert "files.pythonhosted.org" in doc["config"] and "pypi.org" not in doc["config"], doc


def test_suggestions_come_from_the_live_decisions(sluice, origins, tmp_path):
    p = start(sluice, tmp_path, {"mode": "report"})
    assert get(p.addr, "http://%s/echo" % ALLOWED).status == 200
    assert get(p.addr, "http://%s/echo" % ASKED).status == 200  # reported, not denied
    p.wait_logs({"host": ASKED})
    deadline = time.monotonic() + 3
    while True:
        status, doc = api_json(p, "/api/suggestions")
        if doc.get("suggested_from", 0) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == 200 and doc["agents"] == 1, doc
    assert "- name: default" in doc["yaml"], doc["yaml"]
    assert ALLOWED in doc["yaml"] and ASKED in doc["yaml"], doc["yaml"]
    # Only what report mode let through: what a switch to enforce would deny.
    status, doc = api_json(p, "/api/suggestions?only_report=1")
    assert ASKED in doc["yaml"] and ALLOWED not in doc["yaml"], doc["yaml"]
    status, doc = api_json(p, "/api/suggestions?agent=nobody")
    assert doc["agents"] == 0, doc


def test_ask_needs_an_admin_listener(sluice_bin, tmp_path):
    import subprocess
    cfg = tmp_path / "c.yaml"
    cfg.write_text("mode: ask\n")
    r = subprocess.run([sluice_bin, "check", "-c", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 1 and "listen.admin" in r.stderr, r.stderr


def test_sluice_approve_lists_and_answers(sluice_bin, sluice, origins, tmp_path):
    import subprocess
    p = start(sluice, tmp_path)
    admin = "%s:%d" % p.admin
    t = held_get(p)
    [e] = wait_pending(p, ASKED)
    r = subprocess.run([sluice_bin, "approve", "--admin", admin], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert [x["id"] for x in json.loads(r.stdout)["pending"]] == [e["id"]]
    r = subprocess.run([sluice_bin, "approve", "--admin", admin, e["id"], "agent",
                        "--expires", "8h", "--by", "ci"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["released"] == 1
    assert t.outcome().status == 200
    [a] = api_json(p, "/api/approvals")[1]["approvals"]
    assert a["by"] == "ci via console 127.0.0.1" and "expires" in a, a
    # An entry that is gone: exit 1, the console's error on stdout.
    r = subprocess.run([sluice_bin, "approve", "--admin", admin, e["id"], "once"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "no such request" in r.stdout, (r.stdout, r.stderr)


def test_check_validates_the_approvals_file(sluice_bin, tmp_path):
    import subprocess
    approvals = tmp_path / "approvals.yaml"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("listen: {admin: \"127.0.0.1:9999\"}\nmode: ask\n"
                   "approvals: {file: \"%s\"}\n" % approvals)
    r = subprocess.run([sluice_bin, "check", "--offline", "-c", str(cfg)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr  # no file yet: no approvals
    approvals.write_text("approvals:\n  - agent: builder\n    host: a.test\n    port: 99999\n")
    r = subprocess.run([sluice_bin, "check", "--offline", "-c", str(cfg)], capture_output=True,
                       text=True)
    assert r.returncode == 1, r
    assert "%s:4:11: approvals[0].port: expected a port" % approvals in r.stderr, r.stderr


# ---- DNS queries held (listen.dns) ------------------------------------------------------

def dns_query(name, qid):
    import struct
    from dns_server import encode_name
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack("!HH", 1, 1)


def start_dns(sluice, tmp_path, config=None):
    port = free_port()
    p = start(sluice, tmp_path, merge({"listen": {"dns": "127.0.0.1:%d" % port},
                                       "workers": 1}, config or {}))
    p.dns_port = port
    return p


def dns_tcp_exchange(port, msgs, timeout=10.0):
    """Sends msgs pipelined on one TCP connection; the parsed replies, in the order they came."""
    import struct
    from dns_server import parse_response
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"".join(struct.pack("!H", len(m)) + m for m in msgs))
        f = s.makefile("rb")
        for _ in msgs:
            (n,) = struct.unpack("!H", f.read(2))
            raw = f.read(n)
            out.append(dict(parse_response(raw), id=struct.unpack("!H", raw[:2])[0]))
    return out


def test_dns_query_held_until_approved(sluice, dns, tmp_path):
    from dns_server import parse_response
    p = start_dns(sluice, tmp_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(8)
    query = dns_query(ASKED, 0x5151)
    sock.sendto(query, ("127.0.0.1", p.dns_port))
    [e] = wait_pending(p, ASKED)
    assert e["kind"] == "dns" and e["port"] == 0 and e["agent"] == "default", e
    assert e["reason"] == "domain_not_allowed" and e["method"] == "" and e["path"] == "", e
    # A client's retry of the same query joins the one held: one reply answers both.
    sock.sendto(query, ("127.0.0.1", p.dns_port))
    time.sleep(0.3)
    [e] = wait_pending(p, ASKED)
    assert e["held"] == 1, e
    assert dns.queries(ASKED) == 0, "a held query was sent upstream"
    sock.settimeout(0.2)
    try:
        sock.recvfrom(512)
        raise AssertionError("a held query was answered")
    except socket.timeout:
        pass
    status, doc = api_json(p, "/api/pending/" + e["id"], method="POST",
                           body={"answer": "agent", "by": "bob"})
    assert status == 200 and doc["released"] == 1 and doc["persisted"] is True, doc
    sock.settimeout(5)
    r = parse_response(sock.recvfrom(512)[0])
    assert r["rcode"] == 0 and [a[3] for a in r["answers"]] == ["198.51.100.10"], r
    assert dns.queries(ASKED, "A") == 1
    [line] = p.wait_logs({"kind": "dns", "name": ASKED})
    assert line["decision"] == "allow" and line["approval"] == "approved", line
    assert line["held_ms"] >= 300 and line["duration_ms"] >= line["held_ms"], line
    # The standing approval is the policy now: the next query is answered at once, and the
    # approval for the name (port 0) reaches HTTP too.
    sock.sendto(dns_query(ASKED, 0x5152), ("127.0.0.1", p.dns_port))
    r = parse_response(sock.recvfrom(512)[0])
    assert r["rcode"] == 0 and r["answers"], r
    [_, line] = p.wait_logs({"kind": "dns", "name": ASKED}, count=2)
    assert "approval" not in line and line["rule"].startswith("approved: "), line
    sock.close()
    assert api_json(p, "/api/pending")[1]["pending"] == []


def test_dns_query_over_tcp_denied_or_timed_out(sluice, dns, tmp_path):
    p = start_dns(sluice, tmp_path, {"approvals": {"timeout": "1s"}})
    # Denied: the agent's refusal (NXDOMAIN by default); the query pipelined behind it on the
    # same connection waits its turn and is answered after it.
    t = Background(lambda: dns_tcp_exchange(p.dns_port, [dns_query(ASKED, 1),
                                                         dns_query(ALLOWED, 2)]))
    [e] = wait_pending(p, ASKED)
    status, _ = api_json(p, "/api/pending/" + e["id"], method="POST", body={"answer": "deny"})
    assert status == 200
    denied, allowed = t.outcome()
    assert denied["id"] == 1 and denied["rcode"] == 3, denied
    assert allowed["id"] == 2 and allowed["rcode"] == 0 and allowed["answers"], allowed
    [line] = p.wait_logs({"kind": "dns", "name": ASKED})
    assert line["reason"] == "approval_denied" and line["approval"] == "denied", line
    assert line["transport"] == "tcp", line
    # No answer in time: SERVFAIL, which a resolver does not keep, so that the name can be
    # asked again once it is approved.
    t0 = time.monotonic()
    [timed_out] = dns_tcp_exchange(p.dns_port, [dns_query(ASKED, 3)])
    assert 0.9 <= time.monotonic() - t0 < 4
    assert timed_out["rcode"] == 2, timed_out
    [_, line] = p.wait_logs({"kind": "dns", "name": ASKED}, count=2)
    assert line["reason"] == "approval_timeout" and line["approval"] == "timeout", line
    assert dns.queries(ASKED) == 0, "a refused query was sent upstream"
    assert api_json(p, "/api/pending")[1]["pending"] == []


def test_dns_client_that_leaves_gives_up_its_place(sluice, dns, tmp_path):
    import struct
    p = start_dns(sluice, tmp_path)
    s = socket.create_connection(("127.0.0.1", p.dns_port), timeout=5)
    q = dns_query(ASKED, 7)
    s.sendall(struct.pack("!H", len(q)) + q)
    wait_pending(p, ASKED)
    s.close()
    deadline = time.monotonic() + 3
    while api_json(p, "/api/pending")[1]["pending"]:
        assert time.monotonic() < deadline, "a closed connection's query stayed held"
        time.sleep(0.05)
    # One held over UDP when sluice stops: dropped unanswered, nothing leaks (ASan run).
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(dns_query(ASKED, 8), ("127.0.0.1", p.dns_port))
    wait_pending(p, ASKED)
    assert p.proc.stop() is None
    p.proc.proc = None
    u.close()
    assert dns.queries(ASKED) == 0


# ---- the webhook (approvals.webhook) ------------------------------------------------------

class HookReceiver:
    """An HTTP receiver on loopback that records each POST (path, headers, body)."""

    def __init__(self, status=200, tls=None):
        import http.server

        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                n = int(self.headers.get("Content-Length", "0"))
                received.append((self.path, dict(self.headers), self.rfile.read(n)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count=1, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhook_announces_each_new_pending_request(sluice, origins, tmp_path, monkeypatch):
    import hmac
    hook = HookReceiver()
    monkeypatch.setenv("SLUICE_TEST_HOOK_KEY", "k3y")
    try:
        # A name, not a literal: the receiver is found through the system resolver.
        p = start(sluice, tmp_path, {"approvals": {
            "webhook": "http://localhost:%d/hook?team=ops" % hook.port,
            "webhook_secret_env": "SLUICE_TEST_HOOK_KEY"}})
        t = held_get(p, "/echo?from=hook")
        [e] = wait_pending(p, ASKED)
        [(path, headers, body)] = hook.wait()
        assert path == "/hook?team=ops"
        assert headers["Content-Type"] == "application/json"
        want = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
        assert headers["X-Sluice-Signature"] == want, headers
        doc = json.loads(body)
        assert doc["event"] == "pending" and doc["id"] == e["id"], doc
        assert doc["agent"] == "default" and doc["host"] == ASKED and doc["port"] == 80, doc
        assert doc["method"] == "GET" and doc["path"].startswith("/echo"), doc
        # The path is the agent's: not in the text a chat shows as sluice's words.
        assert doc["text"].startswith("sluice: default asks for %s:80 (GET);" % ASKED), doc
        assert "/echo" not in doc["text"], doc
        assert "sluice approve %s" % e["id"] in doc["text"], doc
        # A second request for the same destination joins the entry: no second call.
        t2 = held_get(p, "/echo?again=1")
        assert wait_pending(p, ASKED)[0]["held"] in (1, 2)
        deadline = time.monotonic() + 3
        while wait_pending(p, ASKED)[0]["held"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert len(hook.received) == 1, hook.received
        # The webhook only tells: the requests wait for the answer as before.
        assert t.is_alive() and t2.is_alive()
        api_json(p, "/api/pending/" + e["id"], method="POST", body={"answer": "once"})
        assert t.outcome().status == 200 and t2.outcome().status == 200
        # The policy shows where the webhook goes without its URL.
        _, doc = api_json(p, "/api/policy")
        assert "team=ops" not in doc["config"] and "SLUICE_TEST_HOOK_KEY" in doc["config"]
    finally:
        hook.close()


def test_webhook_that_fails_is_said_and_holds_nothing_up(sluice, origins, tmp_path):
    dead = free_port()  # nothing listens there
    p = start(sluice, tmp_path, {"approvals": {"webhook": "http://127.0.0.1:%d/sk-path" % dead}})
    t = held_get(p)
    [e] = wait_pending(p, ASKED, timeout=2)
    said = "approvals.webhook: %s not delivered to http://127.0.0.1:%d: cannot connect" % (
        e["id"], dead)
    deadline = time.monotonic() + 5
    while said not in p.stderr():
        assert time.monotonic() < deadline, p.stderr()
        time.sleep(0.05)
    assert "sk-path" not in p.stderr(), "the hook's path (its credential) was written out"
    status, doc = api_json(p, "/api/pending/" + e["id"], method="POST", body={"answer": "once"})
    assert status == 200, doc
    assert t.outcome().status == 200


def test_webhook_secret_that_is_not_set_refuses_the_start(sluice_bin, tmp_path, monkeypatch):
    import subprocess
    monkeypatch.delenv("SLUICE_TEST_UNSET_KEY", raising=False)
    cfg = tmp_path / "sluice.yaml"
    cfg.write_text("listen: {http: \"127.0.0.1:%d\", admin: \"127.0.0.1:%d\"}\nmode: ask\n"
                   "approvals: {webhook: \"http://127.0.0.1:9/\", "
                   "webhook_secret_env: SLUICE_TEST_UNSET_KEY}\n" % (free_port(), free_port()))
    r = subprocess.run([sluice_bin, "-c", str(cfg)], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "approvals.webhook_secret_env: SLUICE_TEST_UNSET_KEY is not set" in r.stderr, r.stderr


def test_webhook_over_https_checks_the_receiver(sluice, origins, tmp_path, monkeypatch):
    import tls_stub
    pki = tls_stub.make_pki(tmp_path)
    hook = HookReceiver(tls=tls_stub._leaf(str(tmp_path), "hook", "localhost"))
    conf = {"approvals": {"webhook": "https://localhost:%d/tls" % hook.port}}
    try:
        # The system's trust store does not know the test CA: nothing is sent.
        p = start(sluice, tmp_path, conf)
        t = held_get(p)
        [e] = wait_pending(p, ASKED)
        deadline = time.monotonic() + 5
        while "not delivered" not in p.stderr():
            assert time.monotonic() < deadline, p.stderr()
            time.sleep(0.05)
        assert "%s not delivered to https://localhost:%d: TLS with localhost: " % (
            e["id"], hook.port) in p.stderr(), p.stderr()
        assert hook.received == []
        api_json(p, "/api/pending/" + e["id"], method="POST", body={"answer": "deny"})
        assert t.outcome().status == 403
        assert p.proc.stop() is None
        p.proc.proc = None
        # Trusted (SSL_CERT_FILE moves the trust store, as for curl): delivered over TLS.
        monkeypatch.setenv("SSL_CERT_FILE", pki["ca"])
        p = start(sluice, tmp_path, conf)
        t = held_get(p)
        [e] = wait_pending(p, ASKED)
        [(path, _, body)] = hook.wait()
        assert path == "/tls" and json.loads(body)["id"] == e["id"]
        api_json(p, "/api/pending/" + e["id"], method="POST", body={"answer": "once"})
        assert t.outcome().status == 200
    finally:
        hook.close()


def test_events_stream_drops_a_reader_that_does_not_read(sluice, tmp_path):
    import http.client
    p = start(sluice, tmp_path)
    reader = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reader.connect(p.admin)
    reader.sendall(b"GET /api/events HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (
        p.admin[0].encode(), p.admin[1]))
    time.sleep(0.3)
    # Refusals sluice makes itself (the built-in block): about 8 MB of decisions, far more than
    # the stream's 1 MiB and the sockets' buffers hold.
    sent, deadline = 0, time.monotonic() + 30
    path = "/" + "x" * 1500
    conn = http.client.HTTPConnection(*p.addr, timeout=5)
    while sent < 6000 and time.monotonic() < deadline:
        conn.request("GET", "http://10.0.0.1" + path, headers={"Host": "10.0.0.1"})
        r = conn.getresponse()
        r.read()
        assert r.status == 403
        sent += 1
        if r.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection(*p.addr, timeout=5)
    conn.close()
    # It was closed on the console's side: reading now ends, short of what was logged.
    reader.settimeout(5)
    got = 0
    while True:
        chunk = reader.recv(1 << 16)
        if not chunk:
            break
        got += len(chunk)
    reader.close()
    assert 0 < got < sent * 1500, (got, sent)
    # The proxy went on answering all along, and a new subscriber is served.
    r = api(p, "/api/decisions?limit=1")
    assert r.status == 200


def test_events_stream_accounts_for_every_decision(sluice, tmp_path):
    """A reader that keeps up gets every decision; whatever it was not sent is counted in a
    "dropped" event, never lost silently."""
    import http.client
    p = start(sluice, tmp_path)
    reader = socket.create_connection(p.admin, timeout=10)
    reader.sendall(b"GET /api/events HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (
        p.admin[0].encode(), p.admin[1]))
    got = bytearray()

    def read():
        while b"/last-one" not in got:
            chunk = reader.recv(1 << 16)
            if not chunk:
                return
            got.extend(chunk)
    t = Background(read)
    time.sleep(0.3)
    n = 2000
    conn = http.client.HTTPConnection(*p.addr, timeout=5)
    for i in range(n):
        last = i == n - 1
        conn.request("GET", "http://10.0.0.1/%s%s" % ("x" * 1000, "/last-one" if last else ""),
                     headers={"Host": "10.0.0.1"})
        r = conn.getresponse()
        r.read()
        if r.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection(*p.addr, timeout=5)
    conn.close()
    t.outcome(timeout=10)
    reader.close()
    text = got.decode()
    decisions = text.count("event: decision\n")
    dropped = sum(int(m) for m in re.findall(r'event: dropped\ndata: \{"count":(\d+)\}', text))
    assert decisions + dropped == n, (decisions, dropped)
    assert decisions > 0


def test_dns_query_beyond_a_full_queue_fails_at_once(sluice, dns, tmp_path):
    p = start_dns(sluice, tmp_path, {"approvals": {"max_pending": 1}})
    held = Background(lambda: dns_tcp_exchange(p.dns_port, [dns_query(ASKED, 1)]))
    [e] = wait_pending(p, ASKED)
    t0 = time.monotonic()
    [busy] = dns_tcp_exchange(p.dns_port, [dns_query("other.test", 2)], timeout=3)
    assert time.monotonic() - t0 < 1.0, "a query beyond max_pending was held"
    assert busy["rcode"] == 2, busy
    [line] = p.wait_logs({"kind": "dns", "name": "other.test"})
    assert line["reason"] == "approval_busy" and line["approval"] == "busy", line
    api_json(p, "/api/pending/" + e["id"], method="POST", body={"answer": "once"})
    [answered] = held.outcome()
    assert answered["rcode"] == 0 and answered["answers"], answered
    assert dns.queries("other.test") == 0
