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

`stub.mode` makes /search fail the ways SearXNG does (reset() puts back "ok"):
"unresponsive" (200, no results, unresponsive_engines filled), "forbidden" (403, as when JSON
is not enabled), "limited" (429 from its limiter), "slow" (answers after 3 s), "garbage"
(200 with HTML), "chunked" (the normal answer, chunked), "drop" (the normal answer, then the
connection closed although the answer did not say so: a keep-alive connection that dies idle).
"""

import time

import json
import threading
import urllib.parse

import pytest

from stub_server import RecordingStub, StubHandler, ensure_lo_addresses, wait_accepted

SEARX_IP = "10.0.0.5"
SEARX_PORTS = (8080, 80)  # the route's upstream is :8080; :80 is a second counted door


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


class SearxHandler(StubHandler):
    server_version = "searxng-stub/1"

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
        mode = self.server.stub.mode
        if url.path == "/search" and mode not in ("ok", "drop"):
            if mode == "forbidden":
                self._send(403, b"403 Forbidden\n", "text/plain")
                return
            if mode == "limited":
                self._send(429, b"Too Many Requests\n", "text/plain")
                return
            if mode == "garbage":
                self._send(200, b"<html>not json</html>", "text/html")
                return
            if mode == "unresponsive_crlf":  # an engine name that would end a header
                doc = {"query": "", "results": [],
                       "unresponsive_engines": [["goo\r\nX-Injected: 1", "timeout"]]}
                self._send(200, json.dumps(doc).encode(), "application/json")
                return
            if mode == "unresponsive":
                doc = {"query": qs.get("q", [""])[0], "number_of_results": 0, "results": [],
                       "answers": [], "corrections": [], "infoboxes": [], "suggestions": [],
                       "unresponsive_engines": [["google", "timeout"],
                                                ["duckduckgo", "CAPTCHA"]]}
                self._send(200, json.dumps(doc).encode(), "application/json")
                return
            if mode == "slow":
                time.sleep(3)
            if mode == "chunked":
                q = qs.get("q", [""])[0]
                doc = json.dumps({"query": q, "number_of_results": 3,
                                  "results": search_results(q),
                                  "unresponsive_engines": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(doc), 100):
                    part = doc[i:i + 100]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
                return
        if url.path == "/search":
            if qs.get("format", [""])[0] != "json":
                self._send(403, b"403 Forbidden\n", "text/plain")
                return
            q = qs.get("q", [""])[0]
            results = search_results(q)
            if mode == "drop":
                self.close_connection = True
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


class SearxStub(RecordingStub):
    def __init__(self, ip=SEARX_IP, ports=SEARX_PORTS):
        super().__init__(ip, "searx")
        self.ports = ports
        self.mode = "ok"

    def reset(self):
        super().reset()
        self.mode = "ok"

    def start(self):
        ensure_lo_addresses([self.ip])
        for port in self.ports:
            self.serve(port, SearxHandler)
        return self


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
    wait_accepted({(stub.ip, p) for p in stub.ports}, timeout)


@pytest.fixture
def searx(harness):
    """The SearXNG stand-in on 10.0.0.5:8080 (and a counted :80), counters cleared."""
    stub = get_stub()
    wait_idle(stub)
    stub.reset()
    return stub
