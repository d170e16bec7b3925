"""Fault tests (issue 5, item 6): upstreams that reset mid-response, stall, close before any
header, answer garbage or cannot be reached; DNS that times out, fails or truncates; clients
that vanish mid-body. Each fault, repeated N times while a normal keep-alive client keeps
fetching, gives the right status, Proxy-Status and log reason, leaves the normal client
untouched, and leaks neither descriptors nor memory: the fault runs once as a warm-up, then
sluice's open descriptors and RSS are measured around a second run of the same N faults.

test_upstream_failures.py holds the single-shot status checks; this file goes further.
"""

import os
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import fault_servers as fs
from checks import assert_log_line, assert_refused
from client import RawConn, get, request
from sluice_proc import VALGRIND

N = 50
# ASan's and valgrind's shadow memory make RSS meaningless: only descriptors are compared.
SANITIZED = "ASAN_OPTIONS" in os.environ or VALGRIND
FD_SLACK = 2            # pooled upstream connections may come and go
RSS_SLACK_KIB = 2048

DNS_TCP_HOST = "127.0.0.53"     # truncates big UDP answers, answers over TCP
DNS_UDP_ONLY_HOST = "127.0.0.54"  # truncates big UDP answers, refuses TCP

BEHAVIOURS = {
    "192.0.2.20": fs.rst_mid_body,
    "192.0.2.21": fs.rst_mid_chunked,
    "192.0.2.22": fs.stall_after_head,
    "192.0.2.23": fs.close_before_head,
    "192.0.2.24": fs.rst_before_head,
    "192.0.2.25": fs.garbage_binary,
    "192.0.2.26": fs.overlong_head,
    "192.0.2.27": fs.conflicting_length,
    "192.0.2.28": fs.sink,
    "2001:db8::20": fs.close_before_head,
    # 192.0.2.29 and 2001:db8::29 are on lo with no listener: connection refused.
}


def config(**extra):
    cfg = {"workers": 1, "ports": [80, 443, 81],
           "timeouts": {"request_head": "2s", "upstream_response": "1s", "dns": "1s"}}
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="module")
def faults(harness):
    fs.add_addresses()
    servers = {ip: fs.FaultServer(ip, 80, fn).start() for ip, fn in BEHAVIOURS.items()}
    dns_tcp = fs.FaultDNS(DNS_TCP_HOST, 53, tcp=True).start()
    dns_udp = fs.FaultDNS(DNS_UDP_ONLY_HOST, 53, tcp=False).start()
    for d in (dns_tcp, dns_udp):
        d.table.set("dto.test", drop=True)
        d.table.set("dsf.test", rcode=2)  # SERVFAIL
        # 30 A records do not fit in 512 bytes: the UDP answer is truncated (TC set). TTL 0 so
        # every request asks again.
        d.table.set("tc.test", a=["192.0.2.10"] * 30, ttl=0)
    yield {"servers": servers, "dns_tcp": dns_tcp, "dns_udp": dns_udp}
    for s in servers.values():
        s.stop()
    dns_tcp.stop()
    dns_udp.stop()


# ---- measuring ------------------------------------------------------------------------------

def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def fd_list(pid):
    out = []
    for n in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
        try:
            out.append("%s->%s" % (n, os.readlink("/proc/%d/fd/%s" % (pid, n))))
        except OSError:
            pass
    return out


class Stream:
    """A normal client doing keep-alive GETs on one connection while the faults run."""

    def __init__(self, addr):
        self.addr = addr
        self.ok = 0
        self.errors = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._t.start()
        return self

    def _run(self):
        try:
            with RawConn(self.addr) as c:
                while not self._stop.is_set():
                    c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n\r\n")
                    r = c.read_response()
                    if r.status != 200 or r.json().get("path") != "/echo":
                        self.errors.append(r)
                        return
                    self.ok += 1
                    time.sleep(0.005)
        except Exception as e:  # noqa: BLE001 - reported by check()
            self.errors.append(e)

    def wait_started(self, timeout=3.0):
        deadline = time.monotonic() + timeout
        while self.ok == 0 and not self.errors and time.monotonic() < deadline:
            time.sleep(0.005)
        self.at_start = self.ok
        return self

    def stop_and_check(self):
        # A quick round of faults can end before the client's next round trip (the threads
        # compete for the GIL and two cores): let it get one more answer first. That answer,
        # on the same connection, is what shows the faults left it untouched.
        deadline = time.monotonic() + 5.0
        while self.ok <= self.at_start and not self.errors and time.monotonic() < deadline:
            time.sleep(0.01)
        self._stop.set()
        self._t.join(10)
        assert not self._t.is_alive(), "the normal client's request hung"
        assert not self.errors, "a normal keep-alive client was disturbed by the faults " \
            "after %d good responses: %r" % (self.ok, self.errors[0])
        assert self.at_start >= 1, "the normal client never got a response"
        assert self.ok > self.at_start, "the normal client got no response during or after " \
            "the faults"


def run_round(one, n, parallel):
    with ThreadPoolExecutor(max_workers=parallel) as ex:
        futures = [ex.submit(one) for _ in range(n)]
        for f in futures:
            f.result()  # re-raises the first assertion error of a repetition


def run_fault(p, one, n=N, parallel=10, before_measure=None):
    """Warm-up round, then a measured round of n faults with a normal client streaming
    alongside. Returns the log mark taken before the measured round."""
    pid = p.proc.proc.pid
    assert get(p.addr, "http://public.test/echo").status == 200
    run_round(one, n, parallel)
    p.quiesce()
    time.sleep(0.3)
    if before_measure:
        before_measure()
    fd0, rss0, fds_before = open_fds(pid), rss_kib(pid), fd_list(pid)
    mark = p.log_mark()
    stream = Stream(p.addr).start().wait_started()
    try:
        run_round(one, n, parallel)
    finally:
        stream.stop_and_check()
    p.quiesce()
    deadline = time.monotonic() + 3.0
    while True:
        time.sleep(0.1)
        fd1 = open_fds(pid)
        if fd1 <= fd0 + FD_SLACK or time.monotonic() > deadline:
            break
    rss1 = rss_kib(pid)
    print("fault resources: fds %d -> %d, rss %d -> %d KiB, normal client %d responses"
          % (fd0, fd1, rss0, rss1, stream.ok))
    assert p.proc.alive(), "sluice died"
    assert fd1 <= fd0 + FD_SLACK, "sluice leaks descriptors: %d open before %d faults, %d " \
        "after\nbefore: %s\nafter: %s" % (fd0, n, fd1, fds_before, fd_list(pid))
    if not SANITIZED:
        assert rss1 - rss0 < RSS_SLACK_KIB, "sluice's RSS grew by %d KiB over %d faults " \
            "(%d -> %d KiB)" % (rss1 - rss0, n, rss0, rss1)
    return mark


def logs_with(p, mark, reason, n):
    got = p.wait_logs({"reason": reason}, count=n, since=mark, timeout=5.0)
    assert len(got) == n, "expected %d log lines with reason %s, got %d; reasons seen: %r" % (
        n, reason, len(got), sorted({e.get("reason") for e in p.logs(mark)}))
    return got


def exchange(addr, data, timeout=4.0):
    """Sends a request and reads until the proxy closes. Returns (bytes, seconds); fails when
    the connection stays open past timeout."""
    t0 = time.monotonic()
    s = socket.create_connection(addr, timeout=timeout)
    got = b""
    try:
        s.sendall(data)
        while True:
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                raise AssertionError("sluice left the client connection open %.1fs after "
                                     "the upstream fault; got %r" % (timeout, got[:300]))
            if not d:
                break
            got += d
    finally:
        s.close()
    return got, time.monotonic() - t0


def req(host, path="/", method="GET", extra=b""):
    return (b"%s http://%s%s HTTP/1.1\r\nHost: %s\r\n%s\r\n"
            % (method.encode(), host.encode(), path.encode(), host.encode(), extra))


def upstream_closes(server, n, timeout=5.0):
    """Every connection the fault server got was closed by sluice (not left hanging)."""
    recs = server.wait_finished(n, timeout)
    assert len(recs) >= n, "fault server saw %d finished connections, expected %d" % (
        len(recs), n)
    bad = [r["end"] for r in recs if r["end"] not in ("eof", "rst")]
    assert not bad, "sluice left upstream connections open: %r" % bad[:5]
    return recs


# ---- upstream faults mid-response ------------------------------------------------------------

def test_upstream_reset_mid_body_closes_client_and_leaks_nothing(sluice, faults):
    p = sluice(config=config())

    def one():
        data, _ = exchange(p.addr, req("192.0.2.20"))
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), data[:200]
        # The client must see a short body and a closed connection, never a "complete" one.
        assert len(body) < fs.RST_BODY_LEN, "body of %d bytes" % len(body)
    mark = run_fault(p, one)
    for e in logs_with(p, mark, "upstream_closed", N):
        assert_log_line(e, decision="error", status=200, ip="192.0.2.20")


def test_upstream_reset_mid_chunked_body_never_sends_last_chunk(sluice, faults):
    p = sluice(config=config())

    def one():
        data, _ = exchange(p.addr, req("192.0.2.21"))
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), data[:200]
        assert b"transfer-encoding: chunked" in head.lower(), head
        # A terminating 0-chunk would tell the client the truncated body was complete.
        assert not body.endswith(b"0\r\n\r\n"), "sluice completed a truncated chunked body"
        assert fs.PARTIAL[:100] in body or body == b""
    mark = run_fault(p, one)
    for e in logs_with(p, mark, "upstream_closed", N):
        assert_log_line(e, decision="error", status=200)


def test_upstream_stalling_after_head_times_out_and_closes_both_sides(sluice, faults):
    p = sluice(config=config())
    srv = faults["servers"]["192.0.2.22"]

    def one():
        data, took = exchange(p.addr, req("192.0.2.22"), timeout=4.0)
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), data[:200]
        assert len(body) < fs.STALL_BODY_LEN
        assert 0.8 <= took < 3.0, "closed after %.2fs with upstream_response 1s" % took
    mark = run_fault(p, one, parallel=N, before_measure=srv.clear)
    for e in logs_with(p, mark, "upstream_timeout", N):
        assert_log_line(e, decision="error", status=200)
    upstream_closes(srv, N)


# ---- upstream faults before a response head -------------------------------------------------

@pytest.mark.parametrize("host", ["192.0.2.23", "192.0.2.24", "[2001:db8::20]"],
                         ids=["fin", "rst", "fin-ipv6"])
def test_upstream_closing_before_any_header_is_502(sluice, faults, host):
    p = sluice(config=config())

    def one():
        r = request(p.addr, req(host, "/x"))
        assert_refused(r, 502, "http_response_incomplete")
    mark = run_fault(p, one)
    for e in logs_with(p, mark, "upstream_closed", N):
        assert_log_line(e, decision="error", status=502)


@pytest.mark.parametrize("ip,error,reason", [
    ("192.0.2.25", "http_protocol_error", "upstream_bad_response"),
    ("192.0.2.26", "http_response_header_section_size", "upstream_head_too_large"),
    ("192.0.2.27", "http_protocol_error", "upstream_bad_response"),
], ids=["binary-garbage", "endless-head", "conflicting-length"])
def test_upstream_garbage_is_502_without_waiting_for_eof(sluice, faults, ip, error, reason):
    """The fault server keeps its connection open: sluice must judge the bytes it got, answer
    502 before the upstream timer (1 s) fires, and close the upstream connection itself."""
    p = sluice(config=config())
    srv = faults["servers"][ip]

    def one():
        t0 = time.monotonic()
        r = request(p.addr, req(ip, "/x"))
        took = time.monotonic() - t0
        assert_refused(r, 502, error)
        assert b"garbage" not in r.body and b"hello" not in r.body, r
        assert took < 0.9, "502 only after %.2fs: sluice waited for a timer" % took
    mark = run_fault(p, one, before_measure=srv.clear)
    for e in logs_with(p, mark, reason, N):
        assert_log_line(e, decision="error", status=502)
    upstream_closes(srv, N)


# ---- unreachable upstreams --------------------------------------------------------------------

@pytest.mark.parametrize("authority,error,reason", [
    ("192.0.2.10:81", "connection_refused", "connect_refused"),
    ("[2001:db8::10]:81", "connection_refused", "connect_refused"),
    ("[2001:db8::29]", "connection_refused", "connect_refused"),
    ("192.0.2.99", "destination_ip_unroutable", "connect_unreachable"),
    ("[2001:db8::99]", "destination_ip_unroutable", "connect_unreachable"),
], ids=["port-v4", "port-v6", "addr-v6", "unroutable-v4", "unroutable-v6"])
def test_unreachable_upstream_is_502(sluice, faults, authority, error, reason):
    p = sluice(config=config())

    def one():
        r = request(p.addr, req(authority, "/x"))
        assert_refused(r, 502, error)
    mark = run_fault(p, one)
    for e in logs_with(p, mark, reason, N):
        assert_log_line(e, decision="error", status=502)


# ---- DNS faults --------------------------------------------------------------------------------

def test_dns_timeout_is_504_for_many_pending_queries(sluice, faults):
    p = sluice(config=config(resolver={"servers": [faults["dns_tcp"].endpoint]}))

    def one():
        t0 = time.monotonic()
        r = request(p.addr, req("dto.test", "/x"))
        took = time.monotonic() - t0
        assert_refused(r, 504, "dns_timeout")
        assert 0.8 <= took < 3.0, took
    mark = run_fault(p, one, parallel=N)
    for e in logs_with(p, mark, "dns_timeout", N):
        assert_log_line(e, decision="error", status=504, host="dto.test")


def test_dns_servfail_is_502(sluice, faults):
    p = sluice(config=config(resolver={"servers": [faults["dns_tcp"].endpoint]}))

    def one():
        r = request(p.addr, req("dsf.test", "/x"))
        assert_refused(r, 502, "dns_error")
    mark = run_fault(p, one)
    for e in logs_with(p, mark, "dns_error", N):
        assert_log_line(e, decision="error", status=502, host="dsf.test")


def test_truncated_dns_answer_is_retried_over_tcp(sluice, faults):
    d = faults["dns_tcp"]
    p = sluice(config=config(resolver={"servers": [d.endpoint]}))
    tcp0, tc0 = d.tcp_queries, d.udp_truncated

    def one():
        r = request(p.addr, req("tc.test", "/echo"))
        assert r.status == 200, r
    run_fault(p, one)
    assert d.udp_truncated > tc0, "the UDP answer was never truncated: test is void"
    assert d.tcp_queries > tcp0, "sluice never retried the truncated answer over TCP"


def test_truncated_dns_answer_with_tcp_refused_is_502(sluice, faults):
    d = faults["dns_udp"]
    p = sluice(config=config(resolver={"servers": [d.endpoint]}))
    tc0 = d.udp_truncated

    def one():
        t0 = time.monotonic()
        r = request(p.addr, req("tc.test", "/x"))
        took = time.monotonic() - t0
        assert_refused(r, 502, "dns_error")
        assert took < 3.0, took
    mark = run_fault(p, one, parallel=N)
    assert d.udp_truncated > tc0, "the UDP answer was never truncated: test is void"
    for e in logs_with(p, mark, "dns_error", N):
        assert_log_line(e, decision="error", status=502, host="tc.test")


# ---- clients that vanish ----------------------------------------------------------------------

UPLOAD_LEN = 10 * 1024 * 1024
SENT = 1024 * 1024


@pytest.mark.parametrize("abort", [False, True], ids=["fin", "rst"])
def test_client_vanishing_mid_upload_closes_upstream(sluice, faults, abort):
    p = sluice(config=config())
    srv = faults["servers"]["192.0.2.28"]
    chunk = b"u" * SENT

    def one():
        s = socket.create_connection(p.addr, timeout=5)
        s.sendall(req("192.0.2.28", "/upload", "POST",
                      b"Content-Length: %d\r\n" % UPLOAD_LEN) + chunk)
        time.sleep(0.05)  # let sluice connect upstream and start relaying
        if abort:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    mark = run_fault(p, one, parallel=5, before_measure=srv.clear)
    recs = upstream_closes(srv, N)
    assert len(recs) == N, "expected %d upstream connections, saw %d" % (N, len(recs))
    for r in recs:
        assert 0 < r["body_bytes"] <= SENT, r["body_bytes"]
    for e in logs_with(p, mark, "client_closed", N):
        assert_log_line(e, method="POST", host="192.0.2.28")


def test_client_vanishing_mid_download_is_logged_and_leaks_nothing(sluice, faults):
    p = sluice(config=config())

    def one():
        with RawConn(p.addr) as c:
            c.send(req("public.test", "/bytes/%d" % (50 * 1024 * 1024)))
            got = b""
            while len(got) < 200 * 1024:
                d = c.recv_some()
                assert d, "sluice closed the download early"
                got += d
            assert got.startswith(b"HTTP/1.1 200 ")
    mark = run_fault(p, one)
    logs_with(p, mark, "client_closed", N)
