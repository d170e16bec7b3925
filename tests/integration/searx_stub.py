"""A stand-in for a self-hosted SearXNG instance, for the route tests (issue 4).

It serves SearXNG's JSON search API, `GET /search?q=...&format=json`, on an "internal" address
(10.0.0.5, added to the test namespace's lo: 10.0.0.1 already carries canaries on 80, 443 and
8080) and records every connection and request it gets, with the headers as received, so a test
can assert what sluice injected, removed and rewrote -- and that nothing reached it directly.

    {"query": q, "number_of_results": N,
     "results": [{"url", "title", "content", "engine", "score", "category"}, ...],
     "answers": [], "suggestions": [], "infoboxes": [], "corrections": [],
     "unresponsive_engines": []}

Like SearXNG without `search.formats: [html, json]`, any other format is refused with 403.
Other paths: /echo (the request as JSON), anything else 404.
"""

import http.server
import json
import socketserver
import subprocess
import threading
import time
import urllib.parse

import pytest

SEARX_IP = "10.0.0.5"
SEARX_PORTS = (8080, 80)  # the route's upstream is :8080; :80 is a second counted door


def _ensure_address(ip):
    have = subprocess.run(["ip", "-o", "addr", "show", "dev", "lo"], capture_output=True,
                          text=True).stdout
    if " %s/32 " % ip not in have:
        subprocess.run(["ip", "addr", "add", ip + "/32", "dev", "lo"], check=True,
                       capture_output=True)


def search_results(q):
    words = q.split() or [""]
    results = []
    for i, engine in enumerate(("duckduckgo", "wikipedia", "brave")):
        results.append({
            "url": "https://%s.example/%s/%d" % (engine, urllib.parse.quote(words[0]), i),
            "title": "%s result %d for %s" % (engine.capitalize(), i + 1, q),
            "content": "A stand-in SearXNG answer about %s from %s." % (q, engine),
            "engine": engine,
            "engines": [engine],
            "score": round(3.0 - i * 0.5, 2),
            "category": "general",
            "positions": [i + 1],
        })
    return results


class SearxHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "searxng-stub/1"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        rec = {
            "method": self.command,
            "path": self.path,
            "headers": list(self.headers.items()),
            "peer": self.client_address[0],
            "port": self.server.server_address[1],
            "body": body,
        }
        self.server.stub.record(rec)
        url = urllib.parse.urlsplit(self.path)
        qs = urllib.parse.parse_qs(url.query)
        if url.path == "/search":
            if qs.get("format", [""])[0] != "json":
                self._send(403, b"403 Forbidden\n", "text/plain")
                return
            q = qs.get("q", [""])[0]
            results = search_results(q)
            doc = {"query": q, "number_of_results": len(results), "results": results,
                   "answers": [], "corrections": [], "infoboxes": [], "suggestions": [],
                   "unresponsive_engines": []}
            self._send(200, json.dumps(doc).encode(), "application/json")
        elif url.path == "/echo":
            self._send(200, json.dumps({"method": self.command, "path": self.path,
                                        "headers": rec["headers"]}).encode(),
                       "application/json")
        else:
            self._send(404, b"not found\n", "text/plain")

    do_GET = do_POST = do_HEAD = _handle


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, ip, port, stub):
        self.stub = stub
        super().__init__((ip, port), SearxHandler, bind_and_activate=False)
        self.server_bind()
        self.server_activate()

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)  # no getfqdn()
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]

    def get_request(self):
        conn, addr = super().get_request()
        self.stub.count_conn(self.server_address[1])
        return conn, addr


class SearxStub:
    def __init__(self, ip=SEARX_IP, ports=SEARX_PORTS):
        self.ip = ip
        self.ports = ports
        self._lock = threading.Lock()
        self._conns = {}
        self._requests = []
        self.servers = []

    def start(self):
        _ensure_address(self.ip)
        for port in self.ports:
            s = _Server(self.ip, port, self)
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                             daemon=True, name="searx-%d" % port).start()
            self.servers.append(s)
        return self

    def count_conn(self, port):
        with self._lock:
            self._conns[port] = self._conns.get(port, 0) + 1

    def record(self, rec):
        with self._lock:
            self._requests.append(rec)

    def reset(self):
        with self._lock:
            self._conns = {}
            self._requests = []

    def connections(self, port=None):
        with self._lock:
            if port is None:
                return sum(self._conns.values())
            return self._conns.get(port, 0)

    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    @staticmethod
    def header_values(rec, name):
        return [v for k, v in rec["headers"] if k.lower() == name.lower()]


_STUB = None
_STUB_LOCK = threading.Lock()


def get_stub():
    """The one stub of the test session (started on first use; its listeners stay up)."""
    global _STUB
    with _STUB_LOCK:
        if _STUB is None:
            _STUB = SearxStub().start()
        return _STUB


def wait_idle(stub, timeout=1.0):
    """Waits until no connection sits unaccepted in the stub's listen queues, so that every
    connection that reached it so far is counted."""
    want = {("%08X" % int.from_bytes(bytes(map(int, stub.ip.split("."))), "little"), p)
            for p in stub.ports}
    deadline = time.monotonic() + timeout
    time.sleep(0.03)
    while time.monotonic() < deadline:
        pending = False
        with open("/proc/self/net/tcp") as f:
            for line in f.read().splitlines()[1:]:
                parts = line.split()
                if parts[3] != "0A":
                    continue
                addr, port = parts[1].split(":")
                if (addr, int(port, 16)) in want and int(parts[4].split(":")[1], 16) > 0:
                    pending = True
        if not pending:
            return
        time.sleep(0.01)


@pytest.fixture
def searx(harness):
    """The SearXNG stand-in on 10.0.0.5:8080 (and a counted :80), counters cleared."""
    stub = get_stub()
    wait_idle(stub)
    stub.reset()
    return stub
