"""Issue 14, item 3: HTTP/2 on both sides. An intercepted request that came as an HTTP/2 stream
offers h2 to its origin too, and speaks it when the origin picks it: what HTTP/1.1 cannot carry
(trailers, which gRPC's status travels in) goes through, and an origin that speaks only HTTP/2
(every gRPC server) is reachable. Each request is still judged as one (rules, Host, the log),
one stream at a time on a pooled origin connection. A client that speaks HTTP/1.1 keeps an
HTTP/1.1 origin connection, and tls.upstream_http2: false keeps them all so.

The origins: Node's http2 server (h2_origin.js) and a gRPC server from Debian's python3-grpcio,
both on the suite's public address with a certificate from the test CA; the gRPC client is
grpcio's own, through sluice as its https_proxy."""

import json
import os
import subprocess
import time

import pytest

from test_intercept import HOST, TARGET_IP, curl, isluice, pki  # noqa: F401 (fixtures)
from test_intercept_h2 import node_h2, sha
from test_tunnel_check import NODE_MODULES

HERE = os.path.dirname(os.path.abspath(__file__))


class H2Origin:
    def __init__(self, pki, tmp_path, alpn="h2"):
        self.log = str(tmp_path / "h2-origin.jsonl")
        open(self.log, "w").close()
        cert, key = pki["good"]
        self.proc = subprocess.Popen(["node", os.path.join(HERE, "h2_origin.js"), TARGET_IP,
                                      cert, key, self.log, alpn],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.strip().isdigit(), self.proc.stderr.read()
        self.port = int(line)

    def events(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def requests(self):
        return [e["req"] for e in self.events() if "req" in e]

    def conns(self, alpn=None):
        return [e for e in self.events()
                if "conn" in e and "req" not in e and alpn in (None, e["alpn"])]

    def stop(self):
        alive = self.proc.poll() is None
        self.proc.kill()
        _, err = self.proc.communicate()
        assert alive, "the origin died: %s" % err


@pytest.fixture
def h2origin(pki, tmp_path):
    o = H2Origin(pki, tmp_path)
    yield o
    o.stop()


@pytest.fixture
def both_origin(pki, tmp_path):
    o = H2Origin(pki, tmp_path, alpn="both")
    yield o
    o.stop()


def url(o, path):
    return "https://%s:%d%s" % (HOST, o.port, path)


def h2curl(p, o, path, *extra):
    return curl(p, url(o, path), "--cacert", p.ca, "--http2", *extra)


def log_lines(p, count=1, match=None):
    return p.wait_logs(match=match or (lambda e: e.get("event") == "end" and "path" in e),
                       count=count)


def test_an_h2_stream_reaches_an_h2_origin_as_http2(isluice, h2origin):
    p = isluice()
    r = h2curl(p, h2origin, "/echo?q=1", "-H", "X-Agent-Note: hi", "-d", "payload")
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["version"] == "2.0"
    assert seen["method"] == "POST" and seen["path"] == "/echo?q=1"
    assert seen["headers"][":authority"] == "%s:%d" % (HOST, h2origin.port)
    assert seen["headers"][":scheme"] == "https"
    assert seen["headers"]["x-agent-note"] == "hi"
    assert seen["headers"]["te"] == "trailers"
    assert seen["len"] == 7
    for hop in ("connection", "keep-alive", "transfer-encoding", "host", "proxy-connection"):
        assert hop not in seen["headers"], seen["headers"]
    lines = log_lines(p, match=lambda e: e.get("path") == "/echo")
    assert lines and lines[-1]["status"] == 200 and lines[-1]["alpn"] == "h2", lines
    assert lines[-1]["upstream_alpn"] == "h2", lines


def test_trailers_come_back_to_the_client(isluice, h2origin):
    p = isluice()
    r = h2curl(p, h2origin, "/trailers", "-i")
    assert r.returncode == 0, r.stderr
    # curl prints trailers after the body, as header lines
    assert "grpc-status: 0" in r.stdout, r.stdout
    assert "x-sum: " in r.stdout and "hello trailers" in r.stdout, r.stdout


def test_streams_of_one_client_share_pooled_origin_connections(isluice, h2origin):
    p = isluice()
    reqs = [{"path": "/echo?i=%d" % i} for i in range(20)]
    out = node_h2(p, None, reqs, port=h2origin.port)
    assert all(o["status"] == 200 for o in out), out
    assert len(h2origin.requests()) == 20
    # one stream at a time per origin connection; serial requests reuse the one the CONNECT
    # opened (offering h2 before the client's ALPN was known)
    assert [c["alpn"] for c in h2origin.conns()] == ["h2"], h2origin.conns()


def test_parallel_streams_and_large_bodies_under_flow_control(isluice, h2origin):
    p = isluice()
    reqs = [{"path": "/big?n=3000000"}, {"path": "/echo", "method": "POST", "body": 2000000},
            {"path": "/big?n=5"}] + [{"path": "/echo?i=%d" % i} for i in range(10)]
    out = node_h2(p, None, reqs, mode="parallel", port=h2origin.port)
    big = bytes(i % 251 for i in range(3000000))
    assert out[0]["status"] == 200 and out[0]["len"] == 3000000 and out[0]["sha"] == sha(big)
    doc = [s for s in h2origin.requests() if s["method"] == "POST"]
    assert doc and doc[0]["len"] == 2000000
    assert doc[0]["sha"] == sha(bytes(i % 251 for i in range(2000000)))
    assert all(o["status"] == 200 for o in out), out
    assert len(h2origin.conns()) <= 13


def test_rules_judge_each_stream_before_the_origin(isluice, h2origin):
    p = isluice(rules=[{"host": HOST, "methods": ["GET"], "paths": ["/echo", "/echo/**"]}])
    ok = h2curl(p, h2origin, "/echo", "-o", "/dev/null", "-w", "%{http_code}")
    denied = h2curl(p, h2origin, "/trailers", "-o", "/dev/null", "-w", "%{http_code}")
    assert ok.stdout == "200" and denied.stdout == "403", (ok, denied)
    assert [s["path"] for s in h2origin.requests()] == ["/echo"]


def test_an_origin_reset_is_a_cut_response_not_a_hang(isluice, h2origin):
    p = isluice()
    r = h2curl(p, h2origin, "/reset")
    assert r.returncode != 0  # curl sees the stream reset (or the 502 before any byte)
    # the next request on the same client works
    ok = h2curl(p, h2origin, "/echo", "-o", "/dev/null", "-w", "%{http_code}")
    assert ok.stdout == "200", ok


def test_an_origin_goaway_closes_the_pooled_connection_not_the_next_request(isluice, h2origin):
    p = isluice()
    [o] = node_h2(p, None, [{"path": "/goaway"}], port=h2origin.port)
    assert o["status"] == 200
    time.sleep(0.3)  # the GOAWAY reaches the parked connection
    [o] = node_h2(p, None, [{"path": "/echo"}], port=h2origin.port)
    assert o["status"] == 200
    conns = {r["path"]: r["conn"] for r in h2origin.requests()}
    assert conns["/echo"] != conns["/goaway"], conns


def test_requests_racing_an_origin_goaway_are_sent_again_not_failed(isluice, h2origin):
    """The origin says GOAWAY right after each answer, while sluice may already be sending the
    next request on that connection: a stream it refused was never processed, and goes again
    on a new connection."""
    p = isluice()
    reqs = [{"path": "/goaway?wait=0&i=%d" % i} for i in range(30)]
    out = node_h2(p, None, reqs, port=h2origin.port)
    assert [o["status"] for o in out] == [200] * 30, out
    assert len(h2origin.requests()) == 30


@pytest.mark.skipif("ASAN_OPTIONS" in os.environ, reason="ASan's shadow memory makes RSS meaningless")
def test_a_client_that_stops_reading_holds_little_memory(isluice, h2origin):
    """A 40 MB download from an HTTP/2 origin whose client stops reading for three seconds:
    both windows stop the bytes at sluice's bounded buffers, and the rest arrives whole."""
    from test_intercept_h2 import node_h2_start, node_h2_wait
    from test_memory import rss_kib
    p = isluice()
    pid = p.proc.proc.pid
    n = 40 * 1000 * 1000
    node_h2(p, None, [{"path": "/echo"}], port=h2origin.port)
    before = rss_kib(pid)
    proc = node_h2_start(p, None, [{"path": "/big?n=%d" % n, "pause": 3000}],
                         port=h2origin.port)
    time.sleep(2)
    held = rss_kib(pid) - before
    [o] = node_h2_wait(proc)
    assert o["status"] == 200 and o["len"] == n
    assert o["sha"] == sha(bytes(i % 251 for i in range(251)) * (n // 251) +
                           bytes(i % 251 for i in range(n % 251)))
    print("KiB held while the client does not read: %d" % held)
    assert held < 4096, "%d KiB held for a client that does not read" % held


def test_origin_status_codes_and_bodiless_replies(isluice, h2origin):
    p = isluice()
    for code in (204, 304, 404, 500):
        r = h2curl(p, h2origin, "/status?code=%d" % code, "-o", "/dev/null", "-w",
                   "%{http_code}")
        assert r.stdout == str(code), (code, r.stderr)
    head = h2curl(p, h2origin, "/big?n=1000", "-I", "--suppress-connect-headers")
    assert head.returncode == 0 and head.stdout.startswith("HTTP/2 200"), head


def test_http1_clients_keep_http1_to_the_origin(isluice, both_origin):
    p = isluice()
    r = curl(p, url(both_origin, "/echo"), "--cacert", p.ca, "--http1.1")
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["version"] == "1.1", seen
    [line] = log_lines(p, match=lambda e: e.get("path") == "/echo")
    assert "upstream_alpn" not in line, line
    # its own connection offered no ALPN; the CONNECT's (h2, made before the client's ALPN was
    # known) waits in the pool for HTTP/2 streams
    alpn = {c["conn"]: c["alpn"] for c in both_origin.conns()}
    assert alpn[seen["conn"]] is False, (alpn, seen)


def test_upstream_http2_false_keeps_origins_on_http1(isluice, both_origin):
    p = isluice(tls={"upstream_http2": False})
    r = h2curl(p, both_origin, "/echo")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"] == "1.1"
    p2 = isluice()
    r2 = h2curl(p2, both_origin, "/echo")
    assert json.loads(r2.stdout)["version"] == "2.0"


# ---- gRPC: a real client and server ----------------------------------------------------------

GRPC_SERVER = r"""
import sys, time, grpc
from concurrent import futures
ip, cert, key = sys.argv[1:4]
def unary(req, ctx):
    if req == b"deny-me":
        ctx.abort(grpc.StatusCode.PERMISSION_DENIED, "origin says no")
    return b"echo:" + req
def stream(req, ctx):
    for i in range(int(req)):
        yield b"part-%d" % i
handlers = {"Echo": grpc.unary_unary_rpc_method_handler(unary),
            "Count": grpc.unary_stream_rpc_method_handler(stream)}
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Svc", handlers),))
creds = grpc.ssl_server_credentials([(open(key, "rb").read(), open(cert, "rb").read())])
port = server.add_secure_port(ip + ":0", creds)
server.start()
print(port, flush=True)
server.wait_for_termination()
"""

GRPC_CLIENT = r"""
import json, sys, grpc
ca, target, calls = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
creds = grpc.ssl_channel_credentials(root_certificates=open(ca, "rb").read())
ch = grpc.secure_channel(target, creds)
out = []
for method, arg in calls:
    try:
        if method == "Count":
            got = [m.decode() for m in ch.unary_stream("/test.Svc/Count")(arg.encode(), timeout=10)]
        else:
            got = ch.unary_unary("/test.Svc/" + method)(arg.encode(), timeout=10).decode()
        out.append({"ok": got})
    except grpc.RpcError as e:
        out.append({"code": e.code().name, "details": e.details()})
print(json.dumps(out))
"""


@pytest.fixture
def grpc_origin(pki):
    cert, key = pki["good"]
    proc = subprocess.Popen(["/usr/bin/python3", "-c", GRPC_SERVER, TARGET_IP, cert, key],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip().isdigit(), proc.stderr.read()
    proc.port = int(line)
    yield proc
    proc.kill()
    proc.wait()


def grpc_calls(p, port, calls):
    env = dict(os.environ, https_proxy="http://127.0.0.1:%d" % p.port,
               grpc_proxy="http://127.0.0.1:%d" % p.port)
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    r = subprocess.run(["/usr/bin/python3", "-c", GRPC_CLIENT, p.ca, "%s:%d" % (HOST, port),
                        json.dumps(calls)], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_grpc_calls_go_through_interception_with_their_status(isluice, grpc_origin):
    p = isluice()
    out = grpc_calls(p, grpc_origin.port, [["Echo", "hi"], ["Count", "5"], ["Echo", "deny-me"]])
    assert out[0] == {"ok": "echo:hi"}, out
    assert out[1] == {"ok": ["part-%d" % i for i in range(5)]}, out
    # the origin's own status and message, carried in trailers
    assert out[2] == {"code": "PERMISSION_DENIED", "details": "origin says no"}, out
    paths = [l.get("path") for l in log_lines(p, count=3)]
    assert "/test.Svc/Echo" in paths and "/test.Svc/Count" in paths, paths


def test_grpc_methods_are_judged_by_path_rules(isluice, grpc_origin):
    p = isluice(rules=[{"host": HOST, "paths": ["/test.Svc/Echo"]}])
    out = grpc_calls(p, grpc_origin.port, [["Echo", "hi"], ["Count", "3"]])
    assert out[0] == {"ok": "echo:hi"}, out
    # sluice's 403 reaches the client as gRPC's mapping of it
    assert out[1]["code"] == "PERMISSION_DENIED", out
    denied = log_lines(p, match=lambda e: e.get("path") == "/test.Svc/Count")
    assert denied and denied[-1]["status"] == 403, denied
