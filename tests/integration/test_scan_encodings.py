"""Issue 15, item 2 (what a secret is wrapped in): scanning undoes percent, base64 (standard and
URL-safe, MIME-wrapped) and hex, to scan.decode_depth layers, in the target, the header values
and the body, so a secret sent as base64 in a header, as hex in JSON, base64 inside a form's
percent-encoding or in a multipart part is refused with zero bytes of it at the origin. The log
says which layers it was under. With action: redact a header that carries one is sent with its
value replaced; the origin never sees the secret. Benign encoded traffic (images, digests,
ids) is served."""

import base64
import os
import urllib.parse

import pytest

from checks import assert_refused
from client import get
from test_scan import FORMATS, ORIGIN, call, raw, scanning  # noqa: F401 (fixture)

TOKEN = FORMATS["github-token"]
B64 = base64.b64encode(TOKEN.encode()).decode()


def post(p, body, ctype):
    head = (b"POST http://public.test/upload HTTP/1.1\r\nHost: public.test\r\n"
            b"Content-Type: %s\r\nContent-Length: %d\r\n\r\n" % (ctype.encode(), len(body)))
    return raw(p, [head + body])


@pytest.mark.parametrize("how,where", [
    ("query-base64", "query (base64)"),
    ("query-base64url", "query (base64)"),
    ("query-hex", "query (hex)"),
    ("path-base64", "path (base64)"),
    ("header-base64", "header x-data (base64)"),
    ("header-basic", "header authorization (base64)"),
    ("cookie-percent-base64", "header cookie (percent, base64)"),
    ("header-base64-of-base64", "header x-data (base64, base64)"),
])
def test_encoded_in_the_head(scanning, origins, how, where):
    p = scanning()
    quoted = urllib.parse.quote(base64.b64encode(b"=>" + TOKEN.encode() + b"<<").decode(),
                                safe="")
    url, headers = "http://public.test/echo", []
    if how == "query-base64":
        url += "?d=" + B64
    elif how == "query-base64url":
        url += "?d=" + base64.urlsafe_b64encode(b"\xfb\xff" + TOKEN.encode()).decode()
    elif how == "query-hex":
        url += "?d=" + TOKEN.encode().hex()
    elif how == "path-base64":
        url += "/" + B64.rstrip("=")
    elif how == "header-base64":
        headers = [("X-Data", B64)]
    elif how == "header-basic":
        headers = [("Authorization", "Basic " +
                    base64.b64encode(b"user:" + TOKEN.encode()).decode())]
    elif how == "cookie-percent-base64":
        headers = [("Cookie", "session=" + quoted)]
    else:
        headers = [("X-Data", base64.b64encode(B64.encode()).decode())]
    before = origins.hits(ORIGIN)
    r = call(p, url, headers)
    assert_refused(r, 403, "http_request_denied")
    assert origins.hits(ORIGIN) == before
    [line] = p.wait_logs({"reason": "secret_detected"})
    assert line["rule"] == "scan: github-token in " + where, line
    assert B64 not in str(line) and TOKEN not in str(line)


def mime_base64(data):
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def bodies(token):
    """Each body shape a secret leaves in: (body, content type, where the scan finds it)."""
    t = token.encode()
    return {
        "json": (b'{"note": "deploy with %s", "n": 1}' % t, "application/json", "body"),
        "json-base64": (b'{"file": "%s"}' % base64.b64encode(b"key=" + t), "application/json",
                        "body (base64)"),
        "json-hex": (b'{"blob": "%s"}' % t.hex().encode(), "application/json", "body (hex)"),
        "form": (b"a=1&token=" + t + b"&b=2", "application/x-www-form-urlencoded", "body"),
        "form-percent": (b"a=1&token=" + "".join("%%%02X" % c for c in t).encode(),
                         "application/x-www-form-urlencoded", "body (percent)"),
        "form-percent-base64": (
            b"a=1&f=" + urllib.parse.quote(base64.b64encode(b"x>>" + t + b"??"),
                                           safe="").encode(),
            "application/x-www-form-urlencoded", "body (percent, base64)"),
        "multipart": (b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; "
                      b"filename=\"a.env\"\r\n\r\nTOKEN=" + t + b"\r\n--XyZ--\r\n",
                      "multipart/form-data; boundary=XyZ", "body"),
        "multipart-base64": (
            b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" +
            mime_base64(b"Some text that goes on for a while, long enough to wrap, before the "
                        b"token " + t + b" and after it, more text.") +
            b"--XyZ--\r\n", "multipart/form-data; boundary=XyZ", "body (base64)"),
    }


SHAPES = sorted(bodies(TOKEN))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("shape", SHAPES)
def test_each_format_in_each_body_never_leaves(scanning, origins, fmt, shape):
    body, ctype, where = bodies(FORMATS[fmt])[shape]
    p = scanning()
    before = origins.requests(ORIGIN)
    r = post(p, body, ctype)
    assert_refused(r, 403, "http_request_denied")
    assert origins.requests(ORIGIN) == before
    [line] = p.wait_logs({"reason": "secret_detected"})
    assert line["rule"] == "scan: %s in %s" % (fmt, where), line


def test_a_base64_secret_split_across_reads_is_caught(scanning, origins):
    p = scanning()
    enc = base64.b64encode(b"token: " + TOKEN.encode() + b"\n").decode().encode()
    head = (b"POST http://public.test/upload HTTP/1.1\r\nHost: public.test\r\n"
            b"Content-Length: %d\r\n\r\n" % (len(enc) + 2))
    r = raw(p, [head + b'"' + enc[:17], enc[17:] + b'"'])
    assert r is None or r.status == 403, r
    [line] = p.wait_logs({"reason": "secret_detected"})
    assert line["rule"] == "scan: github-token in body (base64)", line


def test_decode_depth_zero_scans_only_what_is_sent(scanning, origins):
    p = scanning(scan={"decode_depth": 0})
    assert call(p, "http://public.test/echo?d=" + B64).status == 200
    assert_refused(call(p, "http://public.test/echo?d=" + TOKEN), 403)


BENIGN_BODIES = [
    # a PNG in JSON, as image APIs take it
    b'{"image": "data:image/png;base64,%s"}' % base64.b64encode(os.urandom(30000)),
    # base64 of documentation text
    b'{"doc": "%s"}' % base64.b64encode(b"Set GITHUB_TOKEN to a token that starts with ghp_ "
                                        b"and keep it secret. " * 50),
    # digests, ids, hex dumps
    b'{"sha256": "%s", "ids": ["%s"]}' % (os.urandom(32).hex().encode(),
                                         os.urandom(16).hex().encode()),
    bytes(range(256)) * 64,
    # a form with percent-encoded prose
    b"q=" + urllib.parse.quote("how do I rotate a ghp_ token? 100% sure").encode(),
]


@pytest.mark.parametrize("i", range(len(BENIGN_BODIES)))
def test_benign_encoded_bodies_are_served(scanning, origins, i):
    p = scanning()
    r = get(("127.0.0.1", p.port), "http://public.test/echo", method="POST",
            body=BENIGN_BODIES[i])
    assert r.status == 200, r


# ---- redact -----------------------------------------------------------------------------------

def seen_headers(origins):
    _, _, headers = origins.server(ORIGIN).requests[-1]
    return dict((k.lower(), v) for k, v in headers)


def test_redact_replaces_the_header_value_and_forwards(scanning, origins):
    p = scanning(scan={"action": "redact"})
    r = call(p, "http://public.test/echo", [("X-Note", "deploy with " + TOKEN),
                                            ("X-Blob", B64), ("X-Fine", "nothing here")])
    assert r.status == 200, r
    h = seen_headers(origins)
    assert h["x-note"] == "[redacted:github-token]", h
    assert h["x-blob"] == "[redacted:github-token]", h
    assert h["x-fine"] == "nothing here"
    assert TOKEN not in str(h) and B64 not in str(h)
    [line] = p.wait_logs({"reason": "secret_detected"})
    assert line["decision"] == "report", line
    assert line["rule"] == "scan: github-token in header x-note, redacted", line


def test_redact_in_the_target_or_body_blocks(scanning, origins):
    p = scanning(scan={"action": "redact"})
    before = origins.requests(ORIGIN)
    assert_refused(call(p, "http://public.test/echo?t=" + TOKEN), 403)
    r = post(p, b'{"t": "%s"}' % TOKEN.encode(), "application/json")
    assert_refused(r, 403)
    assert origins.requests(ORIGIN) == before


def test_a_redact_pattern_beside_blocking_builtins(scanning, origins):
    p = scanning(scan={"patterns": [{"name": "session", "regex": "sess_[0-9a-f]{16}",
                                     "action": "redact"}]})
    r = call(p, "http://public.test/echo", [("Cookie", "id=sess_0123456789abcdef")])
    assert r.status == 200 and seen_headers(origins)["cookie"] == "[redacted:session]"
    assert_refused(call(p, "http://public.test/echo", [("X-T", TOKEN)]), 403)


@pytest.mark.parametrize("scan,msg", [
    ({"decode_depth": 4}, "scan.decode_depth: \"4\" is not a number of layers from 0 to 3"),
    ({"action": "erase"}, "scan.action"),
    ({"hostnames": {"action": "redact"}}, "scan.hostnames.action"),
    ({"hostnames": {"entropy": "2.55"}}, "scan.hostnames.entropy: \"2.55\" is not bits per "
                                         "character from 1.0 to 6.0"),
    ({"hostnames": {"max_label": 64}}, "scan.hostnames.max_label: \"64\" is not a label length "
                                       "from 1 to 63"),
    ({"hostnames": "sometimes"}, "scan.hostnames: expected true, false or a mapping"),
])
def test_config_errors(sluice_bin, tmp_path, scan, msg):
    import json
    import subprocess
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps({"scan": scan}))
    r = subprocess.run([sluice_bin, "check", "--offline", "-c", str(cfg)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and msg in r.stderr, r.stderr
