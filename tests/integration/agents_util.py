"""Helpers for the per-agent policy tests (issue 4): clients bound to a chosen loopback source
address, proxy credentials, denial-body checks, and rewriting a running sluice's config file
followed by SIGHUP."""

import base64
import hashlib
import re
import signal
import socket
import time

from checks import assert_refused
from client import RawConn, curl
from sluice_proc import merge, to_yaml

# Client source addresses: all of 127.0.0.0/8 is local on lo, so no address needs adding.
SRC_RESEARCH = "127.0.0.3"
SRC_CODER = "127.0.0.4"
SRC_STRANGER = "127.0.0.5"


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def basic(name, token):
    return "Basic " + base64.b64encode(("%s:%s" % (name, token)).encode()).decode()


class SourceConn(RawConn):
    """A RawConn whose client side is bound to `source` (an address on lo), so sluice sees the
    request coming from there."""

    def __init__(self, addr, source=None, timeout=5.0):
        host, port = addr
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.buf = b""
        self.timeout = timeout


def build_request(url, host=None, auth=None, extra_headers=(), method="GET", body=None):
    if host is None:
        m = re.match(r"[a-z]+://([^/]*)", url)
        host = m.group(1) if m else url
    target = url
    h = ["%s %s HTTP/1.1" % (method, target), "Host: " + host]
    if auth is not None:
        h.append("Proxy-Authorization: " + (auth if isinstance(auth, str) else basic(*auth)))
    h += ["%s: %s" % kv for kv in extra_headers]
    if body is not None:
        h.append("Content-Length: %d" % len(body))
    return ("\r\n".join(h) + "\r\n\r\n").encode("latin-1") + (body or b"")


def get_from(addr, url, source=None, auth=None, extra_headers=(), method="GET", body=None,
             timeout=5.0):
    """One request on a new connection from `source`; auth is (name, token) or a raw header
    value. CONNECT takes "host:port" as url."""
    with SourceConn(addr, source, timeout) as c:
        c.send(build_request(url, auth=auth, extra_headers=extra_headers, method=method,
                             body=body))
        return c.read_final_response(method)


def curl_as(p, url, source=None, user=None, args=(), timeout=20):
    """curl through sluice from `source` (--interface) with proxy credentials (name, token).
    Returns (returncode, stderr, transfer)."""
    a = []
    if source:
        a += ["--interface", source]
    if user:
        a += ["--proxy-user", "%s:%s" % user, "--proxy-basic"]
    rc, err, ts = curl(p.url, url, a + list(args), timeout=timeout)
    return rc, err, (ts[0] if ts else None)


def assert_policy_denial(resp, status, error, host=None, rule=None, guidance=None):
    """A policy denial as an agent reads it: the body says it is a policy decision, not a
    network fault, that retrying will not help, names the rule, then the guidance text; the
    Proxy-Status details carry the same facts."""
    ps = assert_refused(resp, status, error, host=host)
    body = resp.text()
    low = body.lower()
    assert "policy" in low, "denial body does not say it is a policy decision: %r" % body
    assert "not a network fault" in low or "not a network" in low, \
        "denial body does not say it is not a network fault: %r" % body
    assert re.search(r"retry\w*.{0,120}?(will not|won't|does not|doesn't|cannot|can't) "
                     r"(help|succeed|work)", low, re.S), \
        "denial body does not say that retrying will not help: %r" % body
    details = ps.get("details", "")
    assert "policy" in details.lower(), "Proxy-Status details lack the policy fact: %r" % ps
    if rule is not None:
        assert rule in body, "denial body does not name the rule %r: %r" % (rule, body)
        assert rule in details, "Proxy-Status details do not name the rule %r: %r" % (rule, ps)
    if guidance is not None:
        assert guidance in body, "denial body lacks the guidance %r: %r" % (guidance, body)
        assert guidance in details, "Proxy-Status details lack the guidance %r: %r" % (
            guidance, ps)
        # Appended: after the policy explanation and the rule.
        assert low.rfind("policy") < body.rfind(guidance), \
            "guidance is not appended after the explanation: %r" % body
    return ps


def assert_agent_after_client(entry, agent):
    keys = list(entry.keys())
    assert entry.get("agent") == agent, "log agent=%r, expected %r in %r" % (
        entry.get("agent"), agent, entry)
    assert "client" in keys and keys.index("agent") == keys.index("client") + 1, \
        "\"agent\" is not right after \"client\": %r" % keys


# ---- reload ---------------------------------------------------------------------------------

def config_text(p, overrides=None, replace=None):
    """The YAML of p's current base config (listen, resolver, ips, ...) with `overrides`
    deep-merged, or `replace` keys set verbatim on top."""
    cfg = merge(p.proc.config, overrides or {})
    for k, v in (replace or {}).items():
        cfg[k] = v
    return to_yaml(cfg) + "\n"


def write_config(p, text):
    with open(p.proc.config_path, "w") as f:
        f.write(text)
    p.proc.config_text = text


def reload(p, text, expect="loaded", timeout=5.0):
    """Rewrites p's config file, sends SIGHUP and waits until sluice's stderr reports the
    outcome (`expect`, a regex: "loaded" for a valid file, "refused" for an invalid one).
    Returns the stderr text written since the signal."""
    before = len(p.proc.stderr())
    write_config(p, text)
    p.proc.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = p.proc.stderr()[before:]
        if re.search(expect, new, re.I) and new.endswith("\n"):
            time.sleep(0.05)  # the workers pick the new snapshot up on their next turn
            return p.proc.stderr()[before:]
        if not p.proc.alive():
            break
        time.sleep(0.01)
    raise AssertionError("no %r reload message within %.0fs (alive=%s); stderr since SIGHUP:\n%s"
                         % (expect, timeout, p.proc.alive(), p.proc.stderr()[before:]))
