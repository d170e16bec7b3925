"""Issue 15, item 2 (the request head): egress secret scanning. With scan:, every request's
target (path and query, also percent-decoded) and header values are scanned, before anything is
resolved or sent, for the built-in credential formats, the operator's own patterns, and the
exact secrets of the agent's credentials (scanned for even without scan:). A match bound for a
host it does not belong to is refused (secret_detected) with zero requests at the origin, or
reported; the log names the pattern and where, never the text. Benign traffic (ids, UUIDs,
base64, documentation's example keys, a token toward its own API) is served."""

import pytest

from checks import assert_refused
from test_intercept import HOST, curl, isluice, origin, pki  # noqa: F401 (fixtures)
from client import get

ORIGIN = "192.0.2.10"  # public.test

# One made-up value per built-in format (none is a real key).
FORMATS = {
    "aws-access-key": "AKIAQWERTYUIOPASDFGH",
    "github-token": "ghp_" + "a1B2c3D4e5F6g7H8i9J0" + "k1L2m3N4o5P6q7R8",
    "github-fine-grained-token": "github_pat_" + "A" * 22 + "_" + "b" * 59,
    "gitlab-token": "glpat-" + "x1Y2z3W4v5U6t7S8r9Q0",
    "slack-token": "xoxb-123456789012-abcdefABCDEF",
    "stripe-secret-key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "openai-key": "sk-proj-" + "abcDEF1234567890xyz" + "T3BlbkFJ" + "ZYXwvu0987654321abc",
    "anthropic-key": "sk-ant-api03-" + "Q" * 90,
    "google-api-key": "AIza" + "SyA-1234567890abcdefghijklmnopqrstu",
    "huggingface-token": "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
    "npm-token": "npm_" + "a" * 36,
}


def call(p, url, headers=(), method="GET"):
    return get(("127.0.0.1", p.port), url, method=method, extra_headers=headers)


@pytest.fixture
def scanning(sluice):
    def start(**extra):
        cfg = {"scan": extra.pop("scan", None)}
        cfg.update(extra)
        return sluice(cfg)
    return start


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("where", ["query", "path", "header"])
def test_each_format_is_refused_with_zero_requests(scanning, origins, name, where):
    p = scanning()
    token = FORMATS[name]
    before = origins.hits(ORIGIN)
    if where == "query":
        r = call(p, "http://public.test/echo?data=" + token)
    elif where == "path":
        r = call(p, "http://public.test/upload/" + token)
    else:
        r = call(p, "http://public.test/echo", [("X-Note", "token " + token)])
    assert_refused(r, 403, "http_request_denied")
    assert origins.hits(ORIGIN) == before
    [line] = p.wait_logs({"reason": "secret_detected"})
    want = {"query": "query", "path": "path", "header": "header x-note"}[where]
    assert line["rule"] == "scan: %s in %s" % (name, want), line
    assert token not in str(line)


def test_percent_encoding_does_not_hide_it(scanning, origins):
    p = scanning()
    token = FORMATS["github-token"]
    enc = "".join("%%%02X" % ord(ch) for ch in token)
    r = call(p, "http://public.test/echo?d=" + enc)
    assert_refused(r, 403, "http_request_denied")


def test_a_token_toward_its_own_api_is_served(scanning, origins, dns):
    dns.set("api.github.com", a=[ORIGIN])
    try:
        p = scanning(allow=["api.github.com", "public.test"])
        r = call(p, "http://api.github.com/echo",
                 [("Authorization", "token " + FORMATS["github-token"])])
        assert r.status == 200, r
    finally:
        dns.reset()


BENIGN = [
    "/echo?id=550e8400-e29b-41d4-a716-446655440000",
    "/echo?sha=da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "/echo?img=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg",
    "/echo?doc=AKIAIOSFODNN7EXAMPL",  # one short of a key: the docs' example, cut
    "/echo?q=how+to+rotate+ghp_+tokens",
    "/echo?name=sk-test&mode=sk_test_only",
    "/echo/repos/our-org/sluice/commits/0123456789abcdef0123456789abcdef01234567",
]


@pytest.mark.parametrize("path", BENIGN)
def test_benign_requests_are_served(scanning, origins, path):
    p = scanning()
    r = call(p, "http://public.test" + path, [("X-Request-Id", "req_01HZX3T4QW8Y9N6K5M2P")])
    assert r.status == 200, (path, r)


def test_a_jwt_is_reported_not_blocked(scanning, origins):
    p = scanning()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    r = call(p, "http://public.test/echo", [("Authorization", "Bearer " + jwt)])
    assert r.status == 200, r
    [line] = p.wait_logs({"reason": "secret_detected"})
    assert line["decision"] == "report" and line["rule"] == "scan: jwt in header authorization"


def test_operator_patterns_and_actions(scanning, origins):
    p = scanning(scan={"builtin": False, "patterns": [
        {"name": "corp-token", "regex": "corp_[a-z0-9]{16}", "hosts": ["corp.test"]},
        {"name": "ticket", "regex": "TICKET-[0-9]{6}", "action": "report"}]})
    before = origins.hits(ORIGIN)
    assert_refused(call(p, "http://public.test/echo?t=corp_0123456789abcdef"), 403)
    assert origins.hits(ORIGIN) == before
    assert call(p, "http://public.test/echo?t=TICKET-123456").status == 200
    # built-ins off: a GitHub token passes
    assert call(p, "http://public.test/echo?t=" + FORMATS["github-token"]).status == 200
    lines = p.wait_logs({"reason": "secret_detected"}, count=2)
    assert [l["decision"] for l in lines] == ["deny", "report"], lines


def test_report_action_forwards_everything(scanning, origins):
    p = scanning(scan={"action": "report"})
    assert call(p, "http://public.test/echo?t=" + FORMATS["aws-access-key"]).status == 200
    [line] = p.wait_logs({"reason": "secret_detected"})
    assert line["decision"] == "report"


def test_a_credentials_own_secret_goes_only_to_its_hosts(sluice, origins, tmp_path):
    """Without scan:, sluice still knows its credentials' secrets: one that reached the agent
    somehow cannot be sent anywhere but the credential's hosts."""
    secret = tmp_path / "s"
    secret.write_text("internal-secret-value-42")
    p = sluice({"allow": ["public.test", "public2.test"], "credentials": [
        {"name": "api", "hosts": ["public2.test"], "header": "X-Key: {secret}",
         "secret": {"file": str(secret)}}]})
    before = origins.hits(ORIGIN)
    r = call(p, "http://public.test/echo", [("X-Leak", "internal-secret-value-42")])
    assert_refused(r, 403, "http_request_denied")
    assert origins.hits(ORIGIN) == before
    [line] = p.wait_logs({"reason": "secret_detected"})
    assert line["rule"] == "scan: credential api in header x-leak"
    assert "internal-secret-value-42" not in p.proc.stdout_bytes().decode()


def test_a_pattern_that_does_not_compile_is_a_config_error(sluice_bin, tmp_path):
    import subprocess
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scan:\n  patterns:\n    - name: bad\n      regex: 'a(b'\n")
    r = subprocess.run([sluice_bin, "check", "--offline", "-c", str(cfg)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "scan.patterns[0].regex: Hyperscan cannot compile it" \
        in r.stderr, r.stderr


@pytest.mark.parametrize("proto", ["--http1.1", "--http2"])
def test_inside_intercepted_https(isluice, origin, proto):
    p = isluice(scan=None)
    url = "https://%s:%d/echo?x=%s" % (HOST, origin.port["good"], FORMATS["stripe-secret-key"])
    r = curl(p, url, "--cacert", p.ca, proto, "-o", "/dev/null", "-w", "%{http_code}")
    assert r.stdout == "403", r
    assert origin.requests == []


# ---- request bodies ----------------------------------------------------------------------------

def raw(p, pieces, pause=0.3):
    """Sends the pieces on one connection with a pause between them (so that each is its own
    read at sluice); the response, or None when the connection was closed without one."""
    import time
    from client import RawConn
    with RawConn(("127.0.0.1", p.port), 10) as c:
        for i, piece in enumerate(pieces):
            if i:
                time.sleep(pause)
            try:
                c.send(piece)
            except OSError:
                break
        try:
            return c.read_final_response("POST")
        except (AssertionError, OSError):
            return None


def test_a_secret_in_a_json_body_never_leaves(scanning, origins):
    p = scanning()
    body = ('{"note": "deploy with %s", "n": 1}' % FORMATS["aws-access-key"]).encode()
    before = origins.requests(ORIGIN)
    r = raw(p, [b"POST http://public.test/upload HTTP/1.1\r\nHost: public.test\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body])
    assert_refused(r, 403, "http_request_denied")
    # found before the head went on: the origin's connection (made first) carried no request
    assert origins.requests(ORIGIN) == before
    [line] = p.wait_logs({"reason": "secret_detected"})
    assert line["rule"] == "scan: aws-access-key in body", line


def test_a_secret_split_across_reads_and_chunks_is_caught(scanning, origins):
    p = scanning()
    token = FORMATS["github-token"].encode()
    filler = b"x" * 5000
    head = (b"POST http://public.test/upload HTTP/1.1\r\nHost: public.test\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    # the token is cut in two, across two chunks sent in two reads
    c1 = filler + b" " + token[:10]
    c2 = token[10:] + b" end"
    r = raw(p, [head + b"%x\r\n" % len(c1) + c1 + b"\r\n",
                b"%x\r\n" % len(c2) + c2 + b"\r\n0\r\n\r\n"])
    assert r is None or r.status == 403, r
    [line] = p.wait_logs({"reason": "secret_detected"})
    assert line["rule"] == "scan: github-token in body", line
    # the origin never got the end of the body: its upload is not in its log of completed ones
    assert not any(path == "/upload" and "end" in str(h)
                   for _, path, h in origins.server(ORIGIN).requests)


def test_a_large_benign_body_is_served_byte_exact(scanning, origins):
    import hashlib
    import json
    p = scanning()
    lines = ['{"id": "550e8400-e29b-41d4-a716-%012d", "img": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"}'
             % i for i in range(20000)]
    body = ("[" + ",".join(lines) + "]").encode()
    r = call(p, "http://public.test/echo", method="POST") if False else \
        get(("127.0.0.1", p.port), "http://public.test/echo", method="POST", body=body)
    assert r.status == 200, r
    doc = json.loads(r.body)
    assert doc["body_length"] == len(body)
    assert doc["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_beyond_max_body_is_not_scanned(scanning, origins):
    p = scanning(scan={"max_body": "1KiB"})
    body = b"x" * 2048 + b" " + FORMATS["aws-access-key"].encode()
    r = get(("127.0.0.1", p.port), "http://public.test/echo", method="POST", body=body)
    assert r.status == 200, r
    p2 = scanning(scan={"max_body": "4KiB"})
    r = get(("127.0.0.1", p2.port), "http://public.test/echo", method="POST", body=body)
    assert_refused(r, 403, "http_request_denied")


@pytest.mark.parametrize("proto", ["--http1.1", "--http2"])
def test_a_body_inside_intercepted_https(isluice, origin, tmp_path, proto):
    p = isluice(scan=None)
    f = tmp_path / "body"
    f.write_bytes(b"a" * 100000 + b"\n" + FORMATS["slack-token"].encode() + b"\n")
    url = "https://%s:%d/echo" % (HOST, origin.port["good"])
    r = curl(p, url, "--cacert", p.ca, proto, "--data-binary", "@%s" % f, "-o", "/dev/null",
             "-w", "%{http_code}")
    assert r.stdout in ("403", "000"), r
    [line] = p.wait_logs({"reason": "secret_detected"})
    assert line["rule"] == "scan: slack-token in body", line
    assert not any(rec["body_len"] == f.stat().st_size for rec in origin.requests)
