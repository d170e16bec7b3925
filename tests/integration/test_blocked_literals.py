"""IP literals of internal destinations, in every spelling, are refused before any connection:
via plain HTTP and via CONNECT, sent raw (exact bytes) and through curl. A case passes only if
sluice answered 403 destination_ip_prohibited AND no canary counted a connection."""

import pytest

from checks import assert_log_line, assert_refused
from client import RawConn, connect_req, curl

# (spelling in the URL authority, what it denotes)
SPELLINGS = [
    ("169.254.169.254", "169.254.169.254"),
    ("2852039166", "169.254.169.254"),
    ("0251.0376.0251.0376", "169.254.169.254"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("0XA9.0XFE.0XA9.0XFE", "169.254.169.254"),
    ("169.254.43518", "169.254.169.254"),
    ("169.16689662", "169.254.169.254"),
    ("0xA9FEA9FE", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("025177524776", "169.254.169.254"),
    ("169.254.169.254.", "169.254.169.254"),
    ("[::ffff:a9fe:a9fe]", "169.254.169.254"),
    ("[::ffff:169.254.169.254]", "169.254.169.254"),
    ("[0:0:0:0:0:ffff:a9fe:a9fe]", "169.254.169.254"),
    ("[::169.254.169.254]", "169.254.169.254"),
    ("10.0.0.1", "10.0.0.1"),
    ("012.0.0.1", "10.0.0.1"),
    ("0x0a.0.0.1", "10.0.0.1"),
    ("10.1", "10.0.0.1"),
    ("167772161", "10.0.0.1"),
    ("127.0.0.2", "127.0.0.2"),
    ("127.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("[::1]", "::1"),
    ("[0:0:0:0:0:0:0:1]", "::1"),
    ("[::ffff:127.0.0.2]", "127.0.0.2"),
    ("[fd00::1]", "fd00::1"),
    ("[FD00:0::1]", "fd00::1"),
    ("203.0.113.10", "203.0.113.10"),
    ("168.63.129.16", "168.63.129.16"),
]
IDS = [s for s, _ in SPELLINGS]


# A trailing dot after an IPv4 literal is still that address (WHATWG URL); refusing the
# spelling as a bad authority (400) is as safe as judging the address (403).
REFUSE_AS_BAD_AUTHORITY_OK = {"169.254.169.254."}


def _denied(resp, canaries, before, spelling=None):
    if spelling in REFUSE_AS_BAD_AUTHORITY_OK and resp.status == 400:
        assert_refused(resp, 400, "http_request_error")
    else:
        assert_refused(resp, 403, "destination_ip_prohibited")
    canaries.assert_unchanged(before)


@pytest.mark.parametrize("spelling,target", SPELLINGS, ids=IDS)
def test_plain_http_to_internal_literal_is_denied(proxy, canaries, spelling, target):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(("GET http://%s/latest/meta-data/ HTTP/1.1\r\nHost: %s\r\n\r\n"
                % (spelling, spelling)).encode())
        r = c.read_response()
    _denied(r, canaries, before, spelling)
    assert b"INTERNAL-SECRET" not in r.body


@pytest.mark.parametrize("spelling,target", SPELLINGS, ids=IDS)
def test_connect_to_internal_literal_is_denied(proxy, canaries, spelling, target):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(connect_req(spelling + ":443"))
        r = c.read_response("CONNECT")
    _denied(r, canaries, before, spelling)


@pytest.mark.parametrize("spelling,target", SPELLINGS, ids=IDS)
def test_plain_http_to_internal_literal_with_explicit_port_is_denied(proxy, canaries, spelling,
                                                                      target):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(("GET http://%s:80/ HTTP/1.1\r\nHost: %s:80\r\n\r\n"
                % (spelling, spelling)).encode())
        r = c.read_response()
    _denied(r, canaries, before, spelling)


# curl canonicalises some spellings itself; whatever it sends must be refused too.
CURL_SPELLINGS = ["169.254.169.254", "2852039166", "0251.0376.0251.0376", "0xa9.0xfe.0xa9.0xfe",
                  "169.254.43518", "0xA9FEA9FE", "[::ffff:a9fe:a9fe]", "[::ffff:169.254.169.254]",
                  "10.0.0.1", "012.0.0.1", "127.0.0.2", "127.1", "[::1]", "[fd00::1]"]


@pytest.mark.parametrize("spelling", CURL_SPELLINGS)
def test_curl_to_internal_literal_is_denied(proxy, canaries, spelling):
    before = canaries.snapshot()
    rc, err, [t] = curl(proxy.url, "http://%s/" % spelling, ["-g"])
    assert rc == 0, err
    assert t.status == 403, (t.status, t.body)
    assert "destination_ip_prohibited" in (t.header("Proxy-Status") or "")
    assert b"INTERNAL-SECRET" not in t.body
    canaries.assert_unchanged(before)


@pytest.mark.parametrize("spelling", ["169.254.169.254", "2852039166", "[::1]", "10.0.0.1"])
def test_curl_proxytunnel_to_internal_literal_is_denied(proxy, canaries, spelling):
    before = canaries.snapshot()
    rc, err, ts = curl(proxy.url, "http://%s/" % spelling, ["-g", "-p"])
    # curl reports the refused CONNECT as an error (exit 56) with the proxy's status
    assert rc != 0
    assert ts and ts[0].info.get("http_connect") == 403, (rc, err, ts and ts[0].info)
    canaries.assert_unchanged(before)


def test_metadata_denial_is_logged(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://169.254.169.254/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n")
        r = c.read_response()
    _denied(r, canaries, before)
    [e] = proxy.wait_logs({"host": "169.254.169.254"})
    assert_log_line(e, decision="deny", reason={"ip_metadata", "ip_non_global"}, status=403,
                    port=80, method="GET")


def test_azure_public_metadata_address_is_denied_as_metadata(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://168.63.129.16/ HTTP/1.1\r\nHost: 168.63.129.16\r\n\r\n")
        r = c.read_response()
    _denied(r, canaries, before)
    [e] = proxy.wait_logs({"host": "168.63.129.16"})
    assert_log_line(e, decision="deny", reason="ip_metadata", status=403)


def test_private_address_denial_is_logged_as_non_global(proxy, canaries):
    before = canaries.snapshot()
    with RawConn(proxy.addr) as c:
        c.send(b"GET http://10.0.0.1/ HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n")
        r = c.read_response()
    _denied(r, canaries, before)
    [e] = proxy.wait_logs({"host": "10.0.0.1"})
    assert_log_line(e, decision="deny", reason="ip_non_global", status=403)
