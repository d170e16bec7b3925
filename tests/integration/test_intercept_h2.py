"""Issue 14, item 3: HTTP/2 inside an intercepted tunnel. A client that offers h2 in ALPN gets
it (curl, Node's http2, which offers nothing else); each stream is judged and forwarded as a
request of its own (to the origin, HTTP/1.1), rules apply per stream, many streams share one
client connection, bodies stream both ways under flow control, a stream the client resets ends
its request alone, and every stream has its log line with alpn h2. The origins and the CA are
test_intercept's."""

import hashlib
import json
import os
import subprocess

import pytest

import tls_stub
from test_intercept import HOST, curl, isluice, origin, pki  # noqa: F401 (fixtures)
from test_tunnel_check import NODE_MODULES

# Node's http2 client over a TLS socket inside a CONNECT tunnel. argv: proxy port, CA file,
# origin port, JSON list of requests {method, path, body (bytes to send), headers, cancel
# (reset the stream after that many body bytes)}, "parallel" or "serial". Prints one JSON list:
# per request its status, headers, body length and sha256, or error.
NODE_H2 = r"""
const http2 = require('http2'), net = require('net'), tls = require('tls');
const crypto = require('crypto'), fs = require('fs');
const [proxyPort, caFile, port, reqsJson, mode] = process.argv.slice(1);
const reqs = JSON.parse(reqsJson);
function tunnel() {
  return new Promise((resolve, reject) => {
    const s = net.connect(+proxyPort, '127.0.0.1', () => {
      s.write(`CONNECT public.test:${port} HTTP/1.1\r\nHost: public.test:${port}\r\n\r\n`);
    });
    let head = '';
    s.on('data', function onData(d) {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.removeListener('data', onData);
      if (!head.startsWith('HTTP/1.1 200')) return reject(new Error(head));
      const t = tls.connect({socket: s, servername: 'public.test', ALPNProtocols: ['h2'],
                             ca: fs.readFileSync(caFile)});
      t.on('secureConnect', () => resolve(t));
      t.on('error', reject);
    });
    s.on('error', reject);
  });
}
function one(session, r) {
  return new Promise((resolve) => {
    const headers = Object.assign({':method': r.method || 'GET', ':path': r.path},
                                  r.headers || {});
    const st = session.request(headers, {endStream: !r.body});
    const h = crypto.createHash('sha256');
    let len = 0, status = 0, rh = {};
    st.on('response', (hs) => { status = hs[':status']; rh = hs; });
    st.on('data', (d) => {
      h.update(d); len += d.length;
      if (r.pause && !st.paused) {
        st.paused = true; st.pause();
        console.error('paused'); setTimeout(() => st.resume(), r.pause);
      }
      if (r.cancel && len >= r.cancel) st.close(http2.constants.NGHTTP2_CANCEL);
    });
    st.on('close', () => resolve({status, headers: rh, len, sha: h.digest('hex'),
                                  rst: st.rstCode}));
    st.on('error', (e) => {});
    if (r.body) {
      const buf = Buffer.alloc(r.body);
      for (let i = 0; i < r.body; i++) buf[i] = i % 251;
      st.end(buf);
    }
  });
}
(async () => {
  const t = await tunnel();
  const session = http2.connect(`https://public.test:${port}`, {createConnection: () => t});
  session.on('error', (e) => { console.error('session', e); });
  let out = [];
  if (mode === 'parallel') out = await Promise.all(reqs.map((r) => one(session, r)));
  else for (const r of reqs) out.push(await one(session, r));
  console.log(JSON.stringify(out));
  session.close();
})().catch((e) => { console.error(e); process.exit(1); });
"""


def node_h2_start(p, origin, reqs, mode="serial", port=None):
    return subprocess.Popen(["node", "-e", NODE_H2, str(p.port), p.ca,
                             str(port or origin.port["good"]),
                             json.dumps(reqs), mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, NODE_PATH=NODE_MODULES))


def node_h2_wait(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out)


def node_h2(p, origin, reqs, mode="serial", timeout=60, port=None):
    return node_h2_wait(node_h2_start(p, origin, reqs, mode, port), timeout)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def test_curl_speaks_http2_to_sluice_and_http1_to_the_origin(isluice, origin):
    p = isluice()
    url = "https://%s:%d/echo?q=1" % (HOST, origin.port["good"])
    r = curl(p, url, "--cacert", p.ca, "--http2", "-i",
             "--suppress-connect-headers", "-H", "Cookie: a=1", "-H", "Cookie: b=2")
    assert r.returncode == 0, r.stderr
    head, body = r.stdout.split("\n\n", 1)
    assert head.startswith("HTTP/2 200"), head
    assert "connection:" not in head.lower() and "keep-alive" not in head.lower(), head
    doc = json.loads(body)
    assert doc["path"] == "/echo?q=1"
    sent = {k.lower(): v for k, v in doc["headers"]}
    assert sent["host"] == "%s:%d" % (HOST, origin.port["good"]), sent
    assert sent["cookie"] == "a=1; b=2", sent  # one HTTP/1.1 field (RFC 9113 §8.2.3)
    [rec] = origin.requests
    assert rec["tls"] and rec["method"] == "GET"
    [line] = p.wait_logs(match={"method": "GET", "event": "end"})
    assert line["alpn"] == "h2" and line["intercept"] is True and line["status"] == 200, line
    assert line["path"] == "/echo" and line["upstream_cert"] == "verified", line


@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_many_streams_share_one_client_connection(isluice, origin):
    """Node's http2 offers only h2: 30 requests at once on one connection, each judged and
    answered, each with its own log line and the same client connection."""
    p = isluice()
    out = node_h2(p, origin, [{"path": "/echo?i=%d" % i} for i in range(30)], "parallel")
    assert [o["status"] for o in out] == [200] * 30, out
    assert sorted(r["path"] for r in origin.requests) == sorted("/echo?i=%d" % i
                                                               for i in range(30))
    lines = p.wait_logs(match={"method": "GET", "event": "end"}, count=30)
    assert {l["client"] for l in lines} == {lines[0]["client"]}, lines
    assert len(p.wait_logs(match={"method": "CONNECT", "event": "end"})) == 1
    assert len({l["id"] for l in lines}) == 30


@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_rules_judge_each_stream(isluice, origin):
    rules = [{"host": HOST, "methods": ["GET"], "paths": ["/echo"]}]
    p = isluice(rules=rules)
    out = node_h2(p, origin, [{"path": "/echo"}, {"method": "POST", "path": "/echo", "body": 10},
                              {"path": "/secret"}, {"path": "/echo/../secret"},
                              {"path": "/echo"}])
    assert [o["status"] for o in out] == [200, 403, 403, 403, 200], out
    assert "request_not_allowed" in out[2]["headers"]["proxy-status"], out[2]
    assert [r["path"] for r in origin.requests] == ["/echo", "/echo"]
    denied = p.wait_logs(match={"event": "end", "decision": "deny"}, count=3)
    assert all(l["alpn"] == "h2" and l["intercept"] for l in denied), denied


@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_bodies_stream_both_ways_under_flow_control(isluice, origin):
    """A 3 MB upload without content-length (chunked to the origin) and 5 MB down, far past
    the windows: the bytes arrive whole and in order."""
    p = isluice()
    n = 3 * 1000 * 1000 + 17
    out = node_h2(p, origin, [{"method": "POST", "path": "/echo", "body": n},
                              {"path": "/big?n=5000000"}, {"path": "/chunked"}])
    assert [o["status"] for o in out] == [200, 200, 200], out
    [up, big, chunked] = origin.requests
    assert up["body_len"] == n and up["body_sha256"] == sha(tls_stub.pattern(n)), up
    assert out[1]["len"] == 5000000 and out[1]["sha"] == sha(tls_stub.pattern(5000000))
    body = tls_stub.chunked_body()
    assert out[2]["len"] == len(body) and out[2]["sha"] == sha(body), out[2]


def test_curl_upload_with_length(isluice, origin, tmp_path):
    p = isluice()
    f = tmp_path / "up.bin"
    f.write_bytes(os.urandom(1000000))
    r = curl(p, "https://%s:%d/echo" % (HOST, origin.port["good"]), "--cacert", p.ca,
             "--http2", "--data-binary", "@%s" % f)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["body_len"] == 1000000 and doc["body_sha256"] == sha(f.read_bytes()), doc


@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_a_reset_stream_ends_its_request_alone(isluice, origin):
    p = isluice()
    out = node_h2(p, origin, [{"path": "/big?n=20000000", "cancel": 100000}, {"path": "/echo"},
                              {"method": "HEAD", "path": "/big?n=1000"}])
    assert out[0]["len"] < 20000000, out[0]
    assert out[1]["status"] == 200 and out[2]["status"] == 200 and out[2]["len"] == 0, out
    assert out[2]["headers"]["content-length"] == "1000", out[2]
    [cut] = p.wait_logs(match={"method": "GET", "path": "/big", "event": "end"})
    assert cut["reason"] == "client_closed", cut


@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_host_and_authority_must_agree(isluice, origin):
    """Another name than the tunnel's inside the stream (Node sends a host field as the
    :authority; one that differs from :authority makes two Host lines, refused as 400): the
    request is refused and nothing reaches the origin."""
    p = isluice()
    out = node_h2(p, origin, [{"path": "/echo", "headers": {"host": "other.test"}}])
    assert out[0]["status"] in (400, 403), out[0]["headers"]
    assert "tunnel_host_mismatch" in out[0]["headers"]["proxy-status"] or \
        "bad_request" in out[0]["headers"]["proxy-status"], out[0]["headers"]
    assert origin.requests == []


@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_more_streams_than_the_limit_wait_their_turn(isluice, origin):
    """150 requests at once: the client holds those beyond SETTINGS_MAX_CONCURRENT_STREAMS
    (100) until others end, sluice runs 32 of a session's requests at once (the others wait
    their turn, not a hundred connections to one origin), and every one is answered."""
    p = isluice()
    out = node_h2(p, origin, [{"path": "/big?n=%d" % (1000 + i)} for i in range(150)],
                  "parallel")
    assert [o["len"] for o in out] == [1000 + i for i in range(150)], out
    assert [o["sha"] for o in out] == [sha(tls_stub.pattern(1000 + i)) for i in range(150)]
    assert 1 <= origin.connections(origin.port["good"]) <= 33
    assert len(p.wait_logs(match={"method": "GET", "event": "end"}, count=150)) == 150


@pytest.mark.skipif("ASAN_OPTIONS" in os.environ, reason="ASan's shadow memory makes RSS meaningless")
@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_a_client_that_stops_reading_holds_little_memory(isluice, origin):
    """A 40 MB download whose client stops reading for three seconds: flow control stops the
    origin's bytes at sluice's bounded per-stream buffers, and the rest arrives whole."""
    import time
    from test_memory import rss_kib
    p = isluice()
    pid = p.proc.proc.pid
    n = 40 * 1000 * 1000
    node_h2(p, origin, [{"path": "/echo"}])  # the worker's buffers exist already
    before = rss_kib(pid)
    proc = node_h2_start(p, origin, [{"path": "/big?n=%d" % n, "pause": 3000}])
    time.sleep(2)
    held = rss_kib(pid) - before
    [o] = node_h2_wait(proc)
    assert o["status"] == 200 and o["len"] == n and o["sha"] == sha(tls_stub.pattern(n))
    print("KiB held while the client does not read: %d" % held)
    assert held < 4096, "%d KiB held for a client that does not read" % held


@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_drain_lets_streams_finish(isluice, origin):
    """SIGTERM while a stream downloads: the session gets GOAWAY, the stream finishes whole,
    and sluice exits once it has."""
    import signal
    import time
    p = isluice(timeouts={"drain": "20s"})
    n = 30 * 1000 * 1000
    proc = node_h2_start(p, origin, [{"path": "/big?n=%d" % n, "pause": 1500}])
    deadline = time.monotonic() + 10
    while not origin.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the client has its first bytes and pauses
    p.proc.proc.send_signal(signal.SIGTERM)
    [o] = node_h2_wait(proc)
    assert o["status"] == 200 and o["len"] == n, o
    assert p.proc.proc.wait(timeout=20) == 0
    err = p.proc.stderr()
    assert "drained" in err and "Sanitizer" not in err, err
    p.proc.proc = None  # stopped here: the fixture has nothing left to stop


@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_headers_allow_per_stream(isluice, origin):
    """headers_allow: a model API that may be sent its key and JSON, nothing else (an agent
    could carry data out in any extra field). Each stream is judged by the fields it sent."""
    rules = [{"host": HOST, "headers_allow": ["authorization", "content-type"]}]
    p = isluice(rules=rules)
    out = node_h2(p, origin, [
        {"method": "POST", "path": "/echo", "body": 10,
         "headers": {"authorization": "Bearer k", "content-type": "application/json"}},
        {"path": "/echo", "headers": {"authorization": "Bearer k", "x-exfil": "c2VjcmV0"}},
    ])
    assert [o["status"] for o in out] == [200, 403], out
    assert "request_denied" in out[1]["headers"]["proxy-status"], out[1]
    assert len(origin.requests) == 1
    [line] = p.wait_logs(match={"event": "end", "decision": "deny"})
    assert line["rule"] == "rules[0]: header x-exfil not in headers_allow", line


NODE_H2_IDLE = r"""
const http2 = require('http2'), net = require('net'), tls = require('tls'), fs = require('fs');
const [proxyPort, caFile, port, count] = process.argv.slice(1);
const ca = fs.readFileSync(caFile);
function session() {
  return new Promise((resolve, reject) => {
    const s = net.connect(+proxyPort, '127.0.0.1', () =>
      s.write(`CONNECT public.test:${port} HTTP/1.1\r\nHost: public.test:${port}\r\n\r\n`));
    s.once('data', (d) => {
      if (!d.toString().startsWith('HTTP/1.1 200')) return reject(new Error(d.toString()));
      const t = tls.connect({socket: s, servername: 'public.test', ALPNProtocols: ['h2'], ca});
      t.on('secureConnect', () => {
        const h = http2.connect(`https://public.test:${port}`, {createConnection: () => t});
        const st = h.request({':path': '/echo'});
        st.resume();
        st.on('end', () => resolve(h));
        st.on('error', reject);
      });
      t.on('error', reject);
    });
  });
}
(async () => {
  const all = [];
  for (let i = 0; i < +count; i++) all.push(await session());
  console.log('ready');
  process.stdin.once('data', () => { all.forEach((h) => h.destroy()); process.exit(0); });
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.mark.skipif("ASAN_OPTIONS" in os.environ, reason="ASan's shadow memory makes RSS meaningless")
@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_idle_http2_sessions_cost_little_memory(isluice, origin):
    """An idle HTTP/2 session (its stream done, the verified upstream connection parked) keeps
    its TLS and HPACK state, not buffers: each costs a few tens of KiB at most."""
    from test_memory import rss_kib
    p = isluice()
    pid = p.proc.proc.pid
    node_h2(p, origin, [{"path": "/echo"}])
    before = rss_kib(pid)
    n = 100
    proc = subprocess.Popen(["node", "-e", NODE_H2_IDLE, str(p.port), p.ca,
                             str(origin.port["good"]), str(n)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, NODE_PATH=NODE_MODULES))
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        per = (rss_kib(pid) - before) / float(n)
    finally:
        proc.stdin.write("x\n")
        proc.stdin.flush()
        proc.wait(timeout=20)
    print("KiB per idle HTTP/2 session: %.1f" % per)
    assert per < 64, "%.1f KiB per idle HTTP/2 session" % per


NODE_H2_RESETS = r"""
const http2 = require('http2'), net = require('net'), tls = require('tls'), fs = require('fs');
const [proxyPort, caFile, port, count, late] = process.argv.slice(1);
const s = net.connect(+proxyPort, '127.0.0.1', () =>
  s.write(`CONNECT public.test:${port} HTTP/1.1\r\nHost: public.test:${port}\r\n\r\n`));
s.once('data', () => {
  const t = tls.connect({socket: s, servername: 'public.test', ALPNProtocols: ['h2'],
                         ca: fs.readFileSync(caFile)});
  t.on('secureConnect', () => {
    const h = http2.connect(`https://public.test:${port}`, {createConnection: () => t,
                                                             peerMaxConcurrentStreams: 1000});
    h.on('error', () => {});
    let goaway = null, finished = false;
    globalThis.sent = 0;
    h.on('goaway', (code) => { goaway = code; });
    function finish() {
      if (finished) return;
      finished = true;
      setTimeout(() => { console.log(JSON.stringify({sent, goaway})); process.exit(0); }, 300);
    }
    h.on('close', finish);
    function burst() {
      if (h.destroyed || h.closed || goaway !== null) return finish();
      for (let i = 0; i < (late === 'late' ? 40 : 100) && sent < +count; i++, sent++) {
        // Late resets cut responses under way (a big body), which is what costs sluice.
        const st = h.request({':path': late === 'late' ? '/big?n=5000000' : '/echo?r=' + sent});
        st.on('error', () => {});
        if (late === 'late') setTimeout(() => st.close(http2.constants.NGHTTP2_CANCEL), 20);
        else st.close(http2.constants.NGHTTP2_CANCEL);
      }
      if (sent < +count) late === 'late' ? setTimeout(burst, 40) : setImmediate(burst);
      else finish();
    }
    burst();
  });
  t.on('error', (e) => {
    console.log(JSON.stringify({error: String(e), sent: globalThis.sent}));
    process.exit(0);
  });
});
"""


def node_resets(p, origin, count, late):
    r = subprocess.run(["node", "-e", NODE_H2_RESETS, str(p.port), p.ca,
                        str(origin.port["good"]), str(count), "late" if late else "same"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, NODE_PATH=NODE_MODULES))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_rapid_reset_costs_the_origin_little(isluice, origin):
    """CVE-2023-44487's pattern: streams opened and reset at once, thousands of them. A stream
    reset in the bytes that opened it never starts a request; those that did start count
    against a budget of resets of running requests (64, then 16 a second), past which the
    session ends with GOAWAY ENHANCE_YOUR_CALM. So the origin sees a bounded number of
    connections (without both: one per reset, hundreds here), and sluice goes on serving."""
    p = isluice()
    node_resets(p, origin, 5000, late=False)
    assert origin.connections(origin.port["good"]) <= 150
    assert len(origin.requests) < 100
    out = node_h2(p, origin, [{"path": "/echo?after"}])
    assert out[0]["status"] == 200


@pytest.mark.skipif(not os.path.isdir(NODE_MODULES), reason="make deps")
def test_resetting_running_requests_ends_the_session(sluice, pki, origin, tmp_path):
    """Resets of requests under way (big responses cut 20 ms in): past the budget sluice
    ends the session with ENHANCE_YOUR_CALM (nghttp2's own limit, a thousand, would say
    INTERNAL_ERROR much later), counted in sluice_h2_reset_floods_total."""
    from test_admin import scrape, start_with_admin, value
    state = tmp_path / "state"
    p = start_with_admin(sluice, {
        "workers": 1, "ports": ["*"], "allow": [HOST], "tunnel": {"opaque_ports": []},
        "tls": {"state_dir": str(state), "upstream_ca": pki["ca"]}, "intercept": [HOST]})
    p.ca = str(state / "ca.pem")
    res = node_resets(p, origin, 2000, late=True)
    # The client may see the GOAWAY, or only the close that follows it while it still sends.
    assert res.get("goaway") in (11, None), res
    assert res.get("sent", 0) < 1000, res
    assert value(scrape(p), "sluice_h2_reset_floods_total") == 1
    assert origin.connections(origin.port["good"]) <= 150
    out = node_h2(p, origin, [{"path": "/echo?after"}])  # a new session is served
    assert out[0]["status"] == 200
