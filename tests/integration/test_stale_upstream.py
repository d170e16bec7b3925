"""A pooled keep-alive upstream connection can be closed by the origin just as sluice reuses it
(the origin's idle timeout strikes while the request is on its way). RFC 9112 §9.3.1: such a
request may be sent again when it is idempotent, and a proxy must not send again one that is
not. sluice sends an idempotent, bodiless request once more, on a new connection to the same
address, when the reused connection closed before a single byte of answer; anything else gets
the 502 it always did. Counted in sluice_upstream_retries_total."""

import time

import pytest

import fault_servers as fs
from checks import assert_log_line, assert_refused
from client import RawConn
from test_admin import scrape, start_with_admin, value

STALE_FIN, STALE_RST, STALE_THEN_CLOSED = "192.0.2.30", "192.0.2.31", "192.0.2.32"
ORIGINS = {
    STALE_FIN: fs.StaleKeepAlive(rst=False),
    STALE_RST: fs.StaleKeepAlive(rst=True),
    STALE_THEN_CLOSED: fs.StaleKeepAlive(rst=False, later="close"),
}
CONFIG = {"workers": 1, "timeouts": {"upstream_response": "2s"}}


@pytest.fixture(scope="module")
def stale_origins(harness):
    fs.add_addresses()
    servers = {ip: fs.FaultServer(ip, 80, fn).start() for ip, fn in ORIGINS.items()}
    yield servers
    for s in servers.values():
        s.stop()


@pytest.fixture
def origin(stale_origins, request):
    """The fault server for the test's `ip` parameter, its connection count reset."""
    ip = request.param
    ORIGINS[ip].reset()
    stale_origins[ip].clear()
    return ip, stale_origins[ip]


def req(ip, path, method="GET", body=None):
    head = b"%s http://%s%s HTTP/1.1\r\nHost: %s\r\n" % (method.encode(), ip.encode(),
                                                       path.encode(), ip.encode())
    if body is not None:
        head += b"Content-Length: %d\r\n" % len(body)
    return head + b"\r\n" + (body or b"")


def retries(p):
    return value(scrape(p), "sluice_upstream_retries_total")


def heads(srv, total, timeout=5.0):
    """The request heads each connection carried, once `total` heads have arrived (or the
    timeout passed). Waits for heads, not for ends: sluice keeps the last one pooled."""
    deadline = time.monotonic() + timeout
    while True:
        seen = [list(r.get("heads", [r["head"]])) for r in list(srv.records)]
        if sum(map(len, seen)) >= total or time.monotonic() > deadline:
            return seen
        time.sleep(0.02)


@pytest.mark.parametrize("origin,method", [
    (STALE_FIN, "GET"), (STALE_RST, "GET"), (STALE_FIN, "HEAD"), (STALE_RST, "DELETE"),
    (STALE_FIN, "OPTIONS"),
], indirect=["origin"], ids=["fin-GET", "rst-GET", "fin-HEAD", "rst-DELETE", "fin-OPTIONS"])
def test_idempotent_request_on_stale_connection_is_sent_again(sluice, origin, method):
    ip, srv = origin
    p = start_with_admin(sluice, CONFIG)
    with RawConn(p.addr) as c:
        c.send(req(ip, "/one"))
        r = c.read_response()
        assert (r.status, r.body) == (200, b"first"), r
        # sluice pooled the origin's connection; the origin closes it on the next request.
        c.send(req(ip, "/two", method))
        r = c.read_response(method)
        assert r.status == 200, r
        if method != "HEAD":
            assert r.body == b"fresh", r
        # The client's connection and the new upstream connection both go on.
        c.send(req(ip, "/three"))
        r = c.read_response()
        assert (r.status, r.body) == (200, b"fresh"), r
    seen = heads(srv, 4)
    assert len(seen) == 2, "the origin saw %d connections: %r" % (len(seen), seen)
    first, second = seen
    # The stale connection did get /two (it was reused), and the new one got it again.
    assert [h.split(b" ")[:2] for h in first] == [[b"GET", b"/one"], [method.encode(), b"/two"]]
    assert [h.split(b" ")[:2] for h in second] == [[method.encode(), b"/two"],
                                                   [b"GET", b"/three"]]
    assert second[0] == first[1], "the request sent again differs from the first attempt"
    assert retries(p) == 1
    for e in p.wait_logs({"host": ip}, count=3):
        assert_log_line(e, decision="allow", status=200)


def refused_after_pooling(p, ip, method="GET", body=None):
    """/one pools the origin's connection; /two goes out on it and must be refused."""
    with RawConn(p.addr) as c:
        c.send(req(ip, "/one"))
        assert c.read_response().status == 200
        c.send(req(ip, "/two", method, body))
        assert_refused(c.read_response(method), 502, "http_response_incomplete")


@pytest.mark.parametrize("origin,method,body", [
    (STALE_FIN, "POST", b"abc"), (STALE_RST, "POST", b"abc"), (STALE_FIN, "POST", b""),
    (STALE_RST, "PATCH", None), (STALE_FIN, "GET", b"abc"), (STALE_RST, "PUT", b"x" * 1000),
], indirect=["origin"], ids=["fin-POST-body", "rst-POST-body", "fin-POST-empty", "rst-PATCH",
                             "fin-GET-with-body", "rst-PUT-body"])
def test_request_that_is_not_replayable_is_not_sent_again(sluice, origin, method, body):
    """Not idempotent, or carrying a body: the origin may have acted on it, so the 502 stands
    and the request reaches the origin exactly once."""
    ip, srv = origin
    p = start_with_admin(sluice, CONFIG)
    refused_after_pooling(p, ip, method, body)
    # sluice decides on a retry before it refuses: by the 502, one would have been made.
    srv.wait_finished(1)
    seen = heads(srv, 2)
    assert len(seen) == 1, "the request was sent again: %r" % seen
    assert [h.split(b" ")[:2] for h in seen[0]] == [[b"GET", b"/one"], [method.encode(), b"/two"]]
    assert retries(p) == 0
    e = p.wait_logs({"host": ip, "status": 502})[0]
    assert_log_line(e, decision="error", method=method, reason="upstream_closed")


@pytest.mark.parametrize("origin", [STALE_THEN_CLOSED], indirect=True)
def test_request_is_sent_again_once_only(sluice, origin):
    """The new connection closes before answering too: that is the origin's answer, a 502,
    not a reason to try a third time."""
    ip, srv = origin
    p = start_with_admin(sluice, CONFIG)
    refused_after_pooling(p, ip)
    srv.wait_finished(2)
    seen = heads(srv, 2)
    assert len(seen) == 2, "expected the stale connection and one more, got %r" % seen
    assert retries(p) == 1
    e = p.wait_logs({"host": ip, "status": 502})[0]
    assert_log_line(e, decision="error", reason="upstream_closed")
