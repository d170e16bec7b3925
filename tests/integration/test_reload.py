"""Live reload (issue 4): SIGHUP re-reads the config file. A valid file replaces the policy for
new requests while requests in flight finish; an invalid one is refused with its errors
(line:column) and the running policy stays; reloading repeatedly under load fails no
request."""

import re
import threading
import time

import fake_servers
from agents_util import (SRC_CODER, SRC_RESEARCH, SourceConn, build_request, config_text,
                         get_from, reload, sha256_hex, write_config)
from checks import assert_refused
from client import RawConn, connect_req, curl_sha256, get
from searx_stub import SEARX_IP, searx  # noqa: F401 (fixture)

MB20 = 20 * 1024 * 1024


def test_valid_reload_applies_to_new_requests(sluice, origins):
    p = sluice(config={"allow": ["public.test"]})
    assert get(p.addr, "http://public.test/echo").status == 200
    assert get(p.addr, "http://public2.test/echo").status == 403
    reload(p, config_text(p, {"allow": ["public2.test"]}))
    assert get(p.addr, "http://public2.test/echo").status == 200
    n0 = origins.hits("192.0.2.10")
    assert_refused(get(p.addr, "http://public.test/echo"), 403, "http_request_denied")
    assert origins.hits("192.0.2.10") == n0
    assert p.proc.alive()


def test_reload_changes_agents_tokens_and_routes(sluice, searx, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SEARX_KEY", "Bearer k1")
    old_token, new_token = "token-before", "token-after"
    agents = [{"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]},
               "allow": ["public.test"]},
              {"name": "ci", "match": {"token_sha256": sha256_hex(old_token)},
               "allow": ["public.test"]}]
    p = sluice(config={"agents": agents})
    assert get_from(p.addr, "http://public.test/echo", auth=("ci", old_token)).status == 200
    assert get_from(p.addr, "http://public2.test/echo", SRC_CODER).status == 407
    assert get_from(p.addr, "http://search.internal/search?q=a&format=json",
                    SRC_RESEARCH).status == 403
    new_agents = [agents[0],
                  {"name": "ci", "match": {"token_sha256": sha256_hex(new_token)},
                   "allow": ["public.test"]},
                  {"name": "coder", "match": {"source": [SRC_CODER + "/32"]},
                   "allow": ["public2.test"]}]
    route = {"host": "search.internal", "upstream": "http://%s:8080" % SEARX_IP,
             "agents": ["research"],
             "headers": {"set": {"Authorization": {"env": "SEARX_KEY"}}}}
    reload(p, config_text(p, {"agents": new_agents, "routes": [route]}))
    assert get_from(p.addr, "http://public.test/echo", auth=("ci", old_token)).status == 407
    assert get_from(p.addr, "http://public.test/echo", auth=("ci", new_token)).status == 200
    assert get_from(p.addr, "http://public2.test/echo", SRC_CODER).status == 200
    r = get_from(p.addr, "http://search.internal/search?q=a&format=json", SRC_RESEARCH)
    assert r.status == 200 and r.json()["query"] == "a", r
    lines = p.wait_logs({"agent": "coder"})
    assert lines and lines[-1]["decision"] == "allow", lines


def test_download_in_flight_finishes_under_the_old_policy(sluice, origins):
    p = sluice(config={"allow": ["public.test"]})
    result = {}

    def download():
        result["r"] = curl_sha256(p.url, "http://public.test/bytes/%d" % MB20,
                                  args=["--limit-rate", "10M"], timeout=30)
    t = threading.Thread(target=download)
    t.start()
    # Wait until the transfer is under way (the origin served the request).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
            path == "/bytes/%d" % MB20 for _, path, _ in origins.server("192.0.2.10").requests):
        time.sleep(0.01)
    time.sleep(0.3)
    assert t.is_alive(), "the download finished before the reload; make it slower"
    reload(p, config_text(p, {"allow": ["public2.test"]}))
    # New requests see the new policy while the old download is still running.
    assert_refused(get(p.addr, "http://public.test/echo"), 403, "http_request_denied")
    assert get(p.addr, "http://public2.test/echo").status == 200
    assert t.is_alive(), "the download ended at the reload"
    t.join(40)
    rc, err, digest, n, code = result["r"]
    assert rc == 0, err
    assert code == 200
    assert n == MB20
    assert digest == fake_servers.pattern_sha256(MB20)
    [e] = p.wait_logs({"host": "public.test", "status": 200})
    assert e["decision"] == "allow" and e["bytes_down"] >= MB20, e


def test_tunnel_in_flight_survives_a_reload_that_still_allows_it(sluice):
    """A tunnel the new policy still allows outlives the revocation sweep (a denied one is cut:
    test_reload_revoke.py)."""
    p = sluice(config={"allow": ["public.test"], "timeouts": {"reload_revoke": "100ms"}})
    with RawConn(p.addr) as c:
        c.send(connect_req("public.test:443"))
        assert c.read_response("CONNECT").status == 200
        reload(p, config_text(p, {"allow": ["public.test", "public6.test"]}))
        time.sleep(0.4)  # past the sweep
        for i in range(3):
            msg = b"after-reload-%d" % i
            c.send(msg)
            got = b""
            while len(got) < len(msg):
                chunk = c.recv_some()
                assert chunk, "the tunnel was closed by the reload"
                got += chunk
            assert got == msg
    with RawConn(p.addr) as c:
        c.send(connect_req("public6.test:443"))
        assert c.read_response("CONNECT").status == 200


BROKEN = ('listen:\n  http: "127.0.0.1:1"\n'     # 1-2 (never applied anyway)
          'allow: ["public2.test"]\n'             # 3
          'ports: [80, "x"]\n'                    # 4: error at 4:13
          'agents:\n'                             # 5
          '  - name: research\n'                  # 6
          '    mode: sometimes\n')                # 7: error at 7:11


def test_invalid_reload_is_refused_and_the_old_policy_stays(sluice, origins):
    p = sluice(config={"allow": ["public.test"]})
    good = p.proc.config_text
    err = reload(p, BROKEN, expect="refused")
    assert re.search(r":4:\d+:.*ports", err), err
    assert re.search(r":7:\d+:.*mode", err), err
    assert p.proc.alive()
    # The old policy keeps working, on the old listener.
    assert get(p.addr, "http://public.test/echo").status == 200
    assert get(p.addr, "http://public2.test/echo").status == 403
    # A YAML syntax error too.
    err = reload(p, 'allow: ["public2.test"\n', expect="refused")
    assert re.search(r":\d+:\d+:", err), err
    assert get(p.addr, "http://public.test/echo").status == 200
    assert get(p.addr, "http://public2.test/echo").status == 403
    # Fixed file: loaded.
    reload(p, good.replace('"public.test"', '"public2.test"'))
    assert get(p.addr, "http://public2.test/echo").status == 200
    assert get(p.addr, "http://public.test/echo").status == 403


def test_reload_with_an_unset_secret_variable_is_refused(sluice, monkeypatch):
    """A route whose header value names an unset variable cannot be applied: refused, and the
    running policy (and its injected value) stays."""
    monkeypatch.delenv("SLUICE_TEST_UNSET_VAR", raising=False)
    p = sluice(config={"allow": ["public.test"]})
    text = config_text(p, {"allow": ["public2.test"], "routes": [
        {"host": "search.internal", "upstream": "http://%s:8080" % SEARX_IP,
         "headers": {"set": {"Authorization": {"env": "SLUICE_TEST_UNSET_VAR"}}}}]})
    reload(p, text, expect="refused")
    assert get(p.addr, "http://public.test/echo").status == 200
    assert get(p.addr, "http://public2.test/echo").status == 403


def test_repeated_reloads_under_load_fail_no_request(sluice, origins):
    """20 reloads, alternating two valid policies that both allow what the load asks for,
    while 300 requests run on 4 threads (new connections and keep-alive)."""
    a = {"allow": ["public.test", "public2.test"], "guidance": "policy A",
         "agents": [{"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]},
                     "allow": ["public.test"]},
                    {"name": "default", "allow": ["public.test", "public2.test"]}]}
    b = {"allow": ["public.test", "public2.test"], "deny": ["blocked.test"],
         "guidance": "policy B",
         "agents": [{"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]},
                     "allow": ["public.test", "www.blocked.test"]},
                    {"name": "default", "allow": ["public.test", "public2.test"]}]}
    p = sluice(config=a)
    texts = [config_text(p, b), config_text(p, a)]
    failures = []
    done = []
    reloads_done = threading.Event()
    lock = threading.Lock()
    # Lockstep: about 15 requests complete between two reloads, so every reload happens
    # while requests are running.
    state = {"completed": 0, "reloads": 0}

    def may_run():
        while not reloads_done.is_set() and \
                state["completed"] > (state["reloads"] + 1) * 15:
            time.sleep(0.002)

    def worker(idx):
        n = 0
        keep = None
        try:
            for i in range(75):
                may_run()
                url = "http://%s/echo?i=%d" % ("public.test" if i % 3 else "public2.test", i)
                src = SRC_RESEARCH if (idx == 0 and "public.test" in url) else None
                try:
                    if idx == 1:  # keep-alive
                        if keep is None:
                            keep = SourceConn(p.addr, None)
                        keep.send(build_request(url))
                        r = keep.read_response()
                        if (r.header("Connection") or "").lower() == "close":
                            keep.close()
                            keep = None
                    else:
                        r = get_from(p.addr, url, src)
                    if r.status != 200 or r.json()["path"] != "/echo?i=%d" % i:
                        with lock:
                            failures.append((idx, i, url, r))
                except Exception as ex:  # noqa: BLE001
                    with lock:
                        failures.append((idx, i, url, repr(ex)))
                    if keep is not None:
                        keep.close()
                        keep = None
                n += 1
                with lock:
                    state["completed"] += 1
        finally:
            if keep is not None:
                keep.close()
            with lock:
                done.append(n)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    for k in range(20):
        deadline = time.monotonic() + 10
        while state["completed"] < k * 15 and time.monotonic() < deadline:
            time.sleep(0.002)
        reload(p, texts[k % 2], timeout=5)
        state["reloads"] = k + 1
    in_flight_at_last_reload = state["completed"] < 300
    reloads_done.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert sum(done) == 300, done
    assert in_flight_at_last_reload, "the load ended before the reloads did"
    assert not failures, "%d failed requests during reloads, e.g. %r" % (len(failures),
                                                                        failures[:5])
    assert p.proc.alive()
    assert len(re.findall(r"loaded", p.proc.stderr())) >= 20, p.proc.stderr()
    assert time.monotonic() - t0 < 30
    lines = p.wait_logs(count=300, timeout=5)
    assert len(lines) == 300 and all(e["status"] == 200 for e in lines), \
        [e for e in lines if e["status"] != 200][:5]


def test_write_config_roundtrip_is_what_sluice_reads(sluice):
    """Guards the helpers: the text config_text() writes is a config sluice accepts as is."""
    p = sluice(config={"allow": ["public.test"]})
    text = config_text(p)
    write_config(p, text)
    reload(p, text)
    assert get(p.addr, "http://public.test/echo").status == 200
