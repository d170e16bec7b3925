"""Strict parsing: a request two parsers could read two ways is refused (400) and the connection
closed, never repaired or forwarded. Sent as raw bytes: curl would never produce them."""

import socket
import time

import pytest

from checks import assert_log_line, assert_refused
from client import ConnectionClosed, RawConn

REQ = b"POST http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n"
GET = b"GET http://public.test/echo HTTP/1.1\r\nHost: public.test\r\n"

SMUGGLING = {"request_smuggling", "bad_request"}
MALFORMED = {"bad_request", "request_smuggling"}
AUTHORITY = {"bad_authority"}

# name -> (raw request, log reasons accepted)
CASES = {
    "te_trailing_comma": (REQ + b"Transfer-Encoding: chunked,\r\n\r\n0\r\n\r\n", SMUGGLING),
    "te_capitalised_chunked": (REQ + b"Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n", SMUGGLING),
    "te_chunked_not_last": (REQ + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
                            SMUGGLING),
    "te_twice_chunked": (REQ + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
                         b"\r\n0\r\n\r\n", SMUGGLING),
    "te_vertical_tab": (REQ + b"Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n", SMUGGLING),
    "cl_and_te": (REQ + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                  {"request_smuggling"}),
    "te_and_cl": (REQ + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
                  {"request_smuggling"}),
    "cl_space_before_colon": (REQ + b"Content-Length : 5\r\n\r\nhello", SMUGGLING),
    "cl_plus_sign": (REQ + b"Content-Length: +5\r\n\r\nhello", SMUGGLING),
    "cl_negative": (REQ + b"Content-Length: -5\r\n\r\nhello", SMUGGLING),
    "cl_hex": (REQ + b"Content-Length: 0x5\r\n\r\nhello", SMUGGLING),
    "cl_duplicate_differing": (REQ + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
                               {"request_smuggling"}),
    "cl_list_differing": (REQ + b"Content-Length: 5, 6\r\n\r\nhello!", SMUGGLING),
    "cl_overflow": (REQ + b"Content-Length: 99999999999999999999999\r\n\r\nx", SMUGGLING),
    "connection_names_connection": (GET + b"Connection: connection\r\n\r\n", MALFORMED),
    "obs_fold": (GET + b"X-A: 1\r\n  folded\r\n\r\n", MALFORMED),
    "obs_fold_tab": (GET + b"X-A: 1\r\n\tfolded\r\n\r\n", MALFORMED),
    "bare_lf_in_headers": (GET + b"X-A: 1\nX-B: 2\r\n\r\n", MALFORMED),
    "bare_lf_request_line": (b"GET http://public.test/echo HTTP/1.1\nHost: public.test\r\n\r\n",
                             MALFORMED),
    "bare_lf_only": (b"GET http://public.test/echo HTTP/1.1\nHost: public.test\n\n", MALFORMED),
    "bare_cr_in_value": (GET + b"X-A: a\rb\r\n\r\n", MALFORMED),
    "nul_in_value": (GET + b"X-A: a\x00b\r\n\r\n", MALFORMED),
    "nul_in_target": (b"GET http://public.test/ec\x00ho HTTP/1.1\r\nHost: public.test\r\n\r\n",
                      MALFORMED),
    "control_in_value": (GET + b"X-A: a\x01b\r\n\r\n", MALFORMED),
    "space_in_header_name": (GET + b"X A: 1\r\n\r\n", MALFORMED),
    "empty_header_name": (GET + b": 1\r\n\r\n", MALFORMED),
    "no_colon": (GET + b"X-A 1\r\n\r\n", MALFORMED),
    "missing_host": (b"GET http://public.test/echo HTTP/1.1\r\n\r\n", MALFORMED | AUTHORITY),
    "bracketed_name": (b"GET http://[public.test]/ HTTP/1.1\r\nHost: [public.test]\r\n\r\n",
                       AUTHORITY),
    "userinfo": (b"GET http://user@public.test/ HTTP/1.1\r\nHost: public.test\r\n\r\n",
                 AUTHORITY),
    "userinfo_password": (b"GET http://user:pw@public.test/ HTTP/1.1\r\nHost: public.test\r\n"
                          b"\r\n", AUTHORITY),
    "userinfo_hiding_metadata": (b"GET http://public.test@169.254.169.254/ HTTP/1.1\r\n"
                                 b"Host: 169.254.169.254\r\n\r\n", AUTHORITY),
    "backslash_authority": (b"GET http://public.test\\@meta.test/ HTTP/1.1\r\n"
                            b"Host: public.test\r\n\r\n", AUTHORITY),
    "percent_encoded_host": (b"GET http://public%2etest/ HTTP/1.1\r\nHost: public%2etest\r\n\r\n",
                             AUTHORITY),
    "empty_host": (b"GET http:///echo HTTP/1.1\r\nHost: \r\n\r\n", AUTHORITY),
    "port_zero": (b"GET http://public.test:0/ HTTP/1.1\r\nHost: public.test:0\r\n\r\n",
                  AUTHORITY),
    "port_too_big": (b"GET http://public.test:65616/ HTTP/1.1\r\nHost: public.test:65616\r\n\r\n",
                     AUTHORITY),
    "ipv6_zone_id": (b"GET http://[fe80::1%25lo]/ HTTP/1.1\r\nHost: [fe80::1%25lo]\r\n\r\n",
                     AUTHORITY),
    "numeric_last_label_not_ipv4": (b"GET http://foo.123/ HTTP/1.1\r\nHost: foo.123\r\n\r\n",
                                    AUTHORITY),
    "ipv4_octet_overflow": (b"GET http://169.254.169.256/ HTTP/1.1\r\n"
                            b"Host: 169.254.169.256\r\n\r\n", AUTHORITY),
    "connect_without_port": (b"CONNECT public.test HTTP/1.1\r\nHost: public.test\r\n\r\n",
                             AUTHORITY),
    "connect_with_userinfo": (b"CONNECT user@public.test:443 HTTP/1.1\r\n"
                              b"Host: public.test:443\r\n\r\n", AUTHORITY),
}


@pytest.mark.parametrize("name", list(CASES))
def test_ambiguous_request_is_refused_with_400_and_closed(proxy, canaries, name):
    raw, reasons = CASES[name]
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(raw)
        r = c.read_response("CONNECT" if raw.startswith(b"CONNECT") else "GET")
        assert_refused(r, 400, "http_request_error")
        assert c.is_closed(), "connection left open after a 400"
    canaries.assert_unchanged(before, also=[("192.0.2.10", 80), ("192.0.2.10", 443)])
    entries = proxy.wait_logs(lambda e: e.get("status") == 400)
    assert entries, "no log line for the refused request"
    assert_log_line(entries[0], decision={"deny", "error"}, reason=reasons, status=400)


@pytest.mark.parametrize("target", [b"/", b"/echo", b"*"])
def test_origin_form_request_is_not_a_proxy_request(proxy, origins, target):
    n0 = origins.hits("192.0.2.10")
    method = b"OPTIONS" if target == b"*" else b"GET"
    with RawConn(proxy.addr) as c:
        c.send(method + b" " + target + b" HTTP/1.1\r\nHost: public.test\r\n\r\n")
        r = c.read_response()
        assert_refused(r, 400, "http_request_error")
        assert c.is_closed()
    assert origins.hits("192.0.2.10") == n0
    [e] = proxy.wait_logs(lambda e: e.get("status") == 400)
    # OPTIONS * (asterisk-form) may also be read as plain malformed for a proxy.
    assert_log_line(e, reason={"not_a_proxy_request"} if target != b"*"
                    else {"not_a_proxy_request", "bad_request"})


@pytest.mark.parametrize("te,statuses", [(b"gzip, chunked", {501}), (b"gzip", {400, 501})],
                         ids=["gzip_then_chunked", "gzip_only"])
def test_unsupported_transfer_coding_is_refused(proxy, origins, te, statuses):
    """RFC 9112 §6.1: a coding sluice does not implement gets 501; without chunked last the
    body length is unknowable (§6.3), which is a 400. Either way: refused and closed."""
    n0 = origins.hits("192.0.2.10")
    with RawConn(proxy.addr) as c:
        c.send(REQ + b"Transfer-Encoding: " + te + b"\r\n\r\n0\r\n\r\n")
        r = c.read_response()
        assert r.status in statuses, r
        assert c.is_closed()
    assert origins.hits("192.0.2.10") == n0
    [e] = proxy.wait_logs(lambda e: e.get("status") == r.status)
    assert_log_line(e, reason={"te_unsupported"} if r.status == 501 else SMUGGLING)


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/1.2", b"HTTP/9.9"])
def test_unsupported_http_version_gets_505(proxy, origins, version):
    n0 = origins.hits("192.0.2.10")
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test/echo " + version + b"\r\nHost: public.test\r\n\r\n")
        r = c.read_response()
        assert r.status == 505, r
        assert c.is_closed()
    assert origins.hits("192.0.2.10") == n0
    [e] = proxy.wait_logs({"status": 505})
    assert_log_line(e, reason="http_version")


@pytest.mark.parametrize("version", [b"HTTP/3", b"HTTP/2", b"HTTP/1.1 ", b"HTTP/01.1", b"HTTP/1"])
def test_malformed_http_version_is_refused(proxy, origins, version):
    n0 = origins.hits("192.0.2.10")
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test/echo " + version + b"\r\nHost: public.test\r\n\r\n")
        r = c.read_response()
        assert r.status in (400, 505), r
        assert c.is_closed()
    assert origins.hits("192.0.2.10") == n0


def test_lowercase_version_is_refused(proxy, origins):
    n0 = origins.hits("192.0.2.10")
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://public.test/echo http/1.1\r\nHost: public.test\r\n\r\n")
        r = c.read_response()
        assert r.status in (400, 505), r
    assert origins.hits("192.0.2.10") == n0


def test_head_larger_than_limit_gets_431(sluice, origins):
    p = sluice(config={"limits": {"max_request_head": 4096}})
    n0 = origins.hits("192.0.2.10")
    with RawConn(p.addr) as c:
        c.send(GET + b"X-Big: " + b"a" * 8192 + b"\r\n\r\n")
        r = c.read_response()
        assert r.status == 431, r
        assert c.is_closed()
    assert origins.hits("192.0.2.10") == n0
    [e] = p.wait_logs({"status": 431})
    assert_log_line(e, reason="head_too_large")


def test_head_just_under_limit_is_accepted(sluice):
    p = sluice(config={"limits": {"max_request_head": 4096}})
    head = GET + b"X-Pad: "
    pad = 4096 - len(head) - len(b"\r\n\r\n") - 64
    with RawConn(p.addr) as c:
        c.send(head + b"a" * pad + b"\r\n\r\n")
        assert c.read_response().status == 200


def test_unfinished_head_gets_408(sluice, origins):
    p = sluice(config={"timeouts": {"request_head": "500ms"}})
    n0 = origins.hits("192.0.2.10")
    t0 = time.monotonic()
    with RawConn(p.addr) as c:
        c.send(b"GET http://public.test/echo HTTP/1.1\r\nHost: pub")
        r = c.read_response()
        elapsed = time.monotonic() - t0
        assert r.status == 408, r
        assert c.is_closed()
    assert 0.4 <= elapsed < 2.5, elapsed
    assert origins.hits("192.0.2.10") == n0
    [e] = p.wait_logs({"status": 408})
    assert_log_line(e, reason="head_timeout")


def test_head_timeout_is_not_extended_by_trickling_bytes(sluice):
    """Slowloris: one byte every 100 ms must not keep the head deadline moving."""
    p = sluice(config={"timeouts": {"request_head": "500ms"}})
    raw = b"GET http://public.test/echo HTTP/1.1\r\nX-Slow: " + b"a" * 100
    t0 = time.monotonic()
    with RawConn(p.addr) as c:
        c.sock.settimeout(0.05)
        for b in raw:
            if time.monotonic() - t0 > 4:
                break
            try:
                c.sock.sendall(bytes([b]))
                got = c.sock.recv(4096)
            except socket.timeout:
                time.sleep(0.05)
                continue
            except OSError:
                break
            c.buf += got
            break  # sluice answered (or closed)
        c.sock.settimeout(3)
        r = c.read_response()
    elapsed = time.monotonic() - t0
    assert r.status == 408, r
    assert elapsed < 2.0, "head deadline extended by trickling bytes (%.1fs)" % elapsed


def test_bad_request_does_not_disturb_other_connections(proxy):
    with RawConn(proxy.addr) as good:
        good.send(GET + b"\r\n")
        assert good.read_response().status == 200
        for raw in (b"\x00\xff\x16\x03\x01garbage\r\n\r\n", REQ + b"Content-Length: 1\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"\r\n\r\n\r\n"):
            with RawConn(proxy.addr) as bad:
                bad.send(raw)
                try:
                    bad.read_response()
                except ConnectionClosed:
                    pass
        good.send(GET + b"\r\n")
        assert good.read_response().status == 200


def test_client_closing_mid_head_is_harmless(proxy):
    for _ in range(5):
        with RawConn(proxy.addr) as c:
            c.send(b"GET http://public.test/echo HTTP/1.1\r\nHo")
    with RawConn(proxy.addr) as c:
        c.send(GET + b"\r\n")
        assert c.read_response().status == 200
