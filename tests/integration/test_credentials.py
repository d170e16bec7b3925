"""Issue 15, item 1: credentials stay at the proxy. The agent holds a placeholder; sluice puts
the secret in its place on requests to the credential's hosts (plain HTTP, intercepted HTTPS in
HTTP/1.1 and HTTP/2), and the origin sees the secret while the agent never does (a response
field that echoes it gets the placeholder back). A placeholder sent to any other host is refused
(credential_misuse) with zero requests there; require: true refuses a request without it; a
tunnel to the hosts that is not intercepted is refused (the placeholder would pass unseen). The
secret is re-read at reload, never logged, and `sluice credentials` prints each agent's
placeholders."""

import subprocess

import pytest

from agents_util import reload
from checks import assert_refused
from client import get
from searx_stub import SEARX_IP, searx  # noqa: F401 (a fixture)
from test_intercept import HOST, curl, isluice, origin, pki  # noqa: F401 (fixtures)

ORIGIN = "192.0.2.10"  # public.test
OTHER = "198.51.100.10"  # public2.test
SECRET = "sk-live-0123456789abcdefSECRET"
PLACEHOLDER = "sk-placeholder-for-agents"


def creds(secret_file, **extra):
    c = {"name": "api", "hosts": ["public.test"], "header": "Authorization: Bearer {secret}",
         "secret": {"file": str(secret_file)}, "placeholder": PLACEHOLDER}
    c.update(extra)
    return [c]


@pytest.fixture
def secret_file(tmp_path):
    f = tmp_path / "api.secret"
    f.write_text(SECRET + "\n")
    return f


def call(p, url, headers=(), method="GET", body=None):
    return get(("127.0.0.1", p.port), url, method=method, extra_headers=headers, body=body)


def seen_auth(origins, ip=ORIGIN):
    _, _, headers = origins.server(ip).requests[-1]
    return dict((k.lower(), v) for k, v in headers).get("authorization")


def test_the_placeholder_becomes_the_secret_at_the_origin(sluice, origins, secret_file):
    p = sluice({"credentials": creds(secret_file)})
    r = call(p, "http://public.test/echo", [("Authorization", "Bearer " + PLACEHOLDER)])
    assert r.status == 200, r
    assert seen_auth(origins) == "Bearer " + SECRET
    # what the agent reads back: the origin's echo in a response field carries the placeholder
    r = call(p, "http://public.test/reflect", [("Authorization", "Bearer " + PLACEHOLDER)])
    assert r.status == 200 and r.header("X-Seen-Authorization") == "Bearer " + PLACEHOLDER, r
    assert SECRET not in str(r.headers)
    # never in the log
    p.quiesce()
    assert SECRET.encode() not in p.proc.stdout_bytes()
    assert SECRET not in p.proc.stderr()


def test_a_placeholder_toward_another_host_is_refused(sluice, origins, secret_file):
    p = sluice({"credentials": creds(secret_file)})
    before = origins.hits(OTHER)
    for headers, path in (([("Authorization", "Bearer " + PLACEHOLDER)], "/echo"),
                          ([("X-Anything", "x" + PLACEHOLDER + "y")], "/echo"),
                          ([], "/echo?k=" + PLACEHOLDER),
                          ([], "/" + PLACEHOLDER)):
        r = call(p, "http://public2.test" + path, headers)
        assert_refused(r, 403, "http_request_denied")
    assert origins.hits(OTHER) == before
    lines = p.wait_logs({"reason": "credential_misuse"}, count=4)
    assert len(lines) == 4, lines
    assert lines[0]["rule"] == "credentials[0] (api): its placeholder sent to public2.test"


def test_require_refuses_a_request_without_the_placeholder(sluice, origins, secret_file):
    p = sluice({"credentials": creds(secret_file, require=True)})
    before = origins.hits(ORIGIN)
    r = call(p, "http://public.test/echo")
    assert_refused(r, 403, "http_request_denied")
    r = call(p, "http://public.test/echo", [("Authorization", "Bearer something-else")])
    assert_refused(r, 403, "http_request_denied")
    assert origins.hits(ORIGIN) == before
    [line, _] = p.wait_logs({"reason": "credential_required"}, count=2)
    assert line["rule"] == "credentials[0] (api): require: no placeholder in Authorization"
    # without require, a request that does not carry it goes as it is
    p2 = sluice({"credentials": creds(secret_file)})
    assert call(p2, "http://public.test/echo").status == 200
    assert seen_auth(origins) is None


def test_a_query_parameter_credential(sluice, origins, secret_file):
    (secret_file).write_text("key with/slash&amp")
    p = sluice({"credentials": [{"name": "search", "hosts": ["public.test"], "query": "api_key",
                                 "secret": {"file": str(secret_file)}}]})
    out = subprocess.run([p.binary, "credentials", "-c", p.proc.config_path],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    [line] = [l for l in out.stdout.splitlines() if l.startswith("SEARCH=")]
    ph = line.split("=", 1)[1]
    assert ph.startswith("sluice-search-") and len(ph) == len("sluice-search-") + 24
    r = call(p, "http://public.test/echo?q=1&api_key=%s&x=api_key=%s" % (ph, ph))
    assert r.status == 200, r
    _, path, _ = origins.server(ORIGIN).requests[-1]
    # only the parameter itself, percent-encoded; the look-alike value is the agent's
    assert path == "/echo?q=1&api_key=key%20with%2Fslash%26amp&x=api_key=" + ph, path


def test_each_agent_gets_its_own_placeholder(sluice, origins, secret_file):
    p = sluice({"credentials": [{"name": "api", "hosts": ["public.test"],
                                 "header": "X-Api-Key: {secret}",
                                 "secret": {"file": str(secret_file)}}],
                "agents": [{"name": "a", "match": {"source": ["127.0.0.1/32"]}},
                           {"name": "b", "match": {"source": ["::1/128"]}}]})
    out = subprocess.run([p.binary, "credentials", "-c", p.proc.config_path, "--agent", "a"],
                         capture_output=True, text=True, timeout=10)
    ph_a = [l for l in out.stdout.splitlines() if l.startswith("API=")][0].split("=", 1)[1]
    out = subprocess.run([p.binary, "credentials", "-c", p.proc.config_path, "--agent", "b"],
                         capture_output=True, text=True, timeout=10)
    ph_b = [l for l in out.stdout.splitlines() if l.startswith("API=")][0].split("=", 1)[1]
    assert ph_a != ph_b
    assert call(p, "http://public.test/echo", [("X-Api-Key", ph_a)]).status == 200
    assert dict((k.lower(), v) for k, v in
                origins.server(ORIGIN).requests[-1][2])["x-api-key"] == SECRET
    # agent b's placeholder is no use to agent a: it goes as it came
    assert call(p, "http://public.test/echo", [("X-Api-Key", ph_b)]).status == 200
    assert dict((k.lower(), v) for k, v in
                origins.server(ORIGIN).requests[-1][2])["x-api-key"] == ph_b


def test_reload_reads_the_secret_again(sluice, origins, secret_file):
    p = sluice({"credentials": creds(secret_file)})
    assert call(p, "http://public.test/echo", [("Authorization", "Bearer " + PLACEHOLDER)]).status == 200
    assert seen_auth(origins) == "Bearer " + SECRET
    secret_file.write_text("sk-rotated-secret-value")
    reload(p, p.proc.config_text)
    assert call(p, "http://public.test/echo", [("Authorization", "Bearer " + PLACEHOLDER)]).status == 200
    assert seen_auth(origins) == "Bearer sk-rotated-secret-value"


def test_a_secret_that_cannot_be_read_refuses_the_start(sluice_bin, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("credentials:\n  - name: api\n    hosts: [public.test]\n"
                   "    header: 'Authorization: Bearer {secret}'\n"
                   "    secret: {env: SLUICE_TEST_NO_SUCH_VARIABLE}\n")
    r = subprocess.run([sluice_bin, "check", "-c", str(cfg)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1
    assert "credentials[0] (api): secret from variable SLUICE_TEST_NO_SUCH_VARIABLE: " \
        "environment variable is not set" in r.stderr, r.stderr


@pytest.mark.parametrize("text, message", [
    ("    secret: sk-literal\n", "a secret is not written in the configuration"),
    ("    secret: {env: X}\n    query: k\n", "give one of header and query"),
    ("    secret: {env: X}\n    placeholder: short\n", "is not a placeholder"),
])
def test_config_errors(sluice_bin, tmp_path, text, message):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("credentials:\n  - name: api\n    hosts: [public.test]\n"
                   "    header: 'Authorization: Bearer {secret}'\n" + text)
    r = subprocess.run([sluice_bin, "check", "--offline", "-c", str(cfg)], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 1 and message in r.stderr, r.stderr


# ---- HTTPS: intercepted, HTTP/1.1 and HTTP/2 --------------------------------------------------

@pytest.mark.parametrize("proto", ["--http1.1", "--http2"])
def test_intercepted_https_gets_the_secret(isluice, origin, secret_file, proto):
    p = isluice(credentials=creds(secret_file))
    url = "https://%s:%d/reflect" % (HOST, origin.port["good"])
    r = curl(p, url, "--cacert", p.ca, proto, "-i", "--suppress-connect-headers",
             "-H", "Authorization: Bearer " + PLACEHOLDER)
    assert r.returncode == 0, r.stderr
    assert ("x-seen-authorization: Bearer " + PLACEHOLDER).lower() in r.stdout.lower(), r.stdout
    assert SECRET not in r.stdout
    [rec] = origin.requests
    assert dict((k.lower(), v) for k, v in rec["headers"])["authorization"] == "Bearer " + SECRET


def test_a_tunnel_to_a_credential_host_must_be_intercepted(isluice, origin, secret_file):
    p = isluice(intercept=(), credentials=creds(secret_file))
    url = "https://%s:%d/echo" % (HOST, origin.port["good"])
    r = curl(p, url, "--cacert", p.ca, "-H", "Authorization: Bearer " + PLACEHOLDER)
    assert r.returncode != 0
    assert origin.requests == [] and origin.handshakes == []
    [line] = p.wait_logs({"method": "CONNECT", "event": "end"})
    assert line["reason"] == "credential_tunnel", line


def test_a_route_gets_the_secret_for_its_name(sluice, searx, secret_file):  # noqa: F811
    """On a route the credential's host is the name the agent called (search.internal)."""
    p = sluice({"ports": ["*"],
                "routes": [{"host": "search.internal", "upstream": "http://%s:8080" % SEARX_IP}],
                "credentials": [{"name": "searx", "hosts": ["search.internal"],
                                 "header": "X-Api-Key: {secret}",
                                 "secret": {"file": str(secret_file)},
                                 "placeholder": PLACEHOLDER}]})
    r = call(p, "http://search.internal/search?q=x&format=json", [("X-Api-Key", PLACEHOLDER)])
    assert r.status == 200, r
    assert searx.header_values(searx.requests[-1], "X-Api-Key") == [SECRET]
