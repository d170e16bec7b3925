"""Assertions shared by the sluice tests."""

from client import parse_proxy_status
from sluice_proc import LOG_FIELDS


def assert_refused(resp, status, error=None, host=None):
    """A refusal from sluice: the status, an RFC 9209 Proxy-Status naming sluice and the error
    type, and (for policy denials) a plain-text body an agent can read, naming the host."""
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    ps = parse_proxy_status(resp.header("Proxy-Status"))
    assert ps is not None, "no Proxy-Status header in %r" % resp
    assert ps["_name"] == "sluice", ps
    if error is not None:
        assert ps.get("error") == error, "Proxy-Status %r, expected error=%s" % (ps, error)
    if host is not None:
        assert "details" in ps, "Proxy-Status without details: %r" % ps
        ctype = (resp.header("Content-Type") or "").lower()
        assert ctype.startswith("text/plain"), "denial body type %r" % ctype
        assert host.lower() in resp.text().lower(), \
            "denial body does not name %r: %r" % (host, resp.text())
    return ps


def assert_log_line(entry, **want):
    missing = [f for f in LOG_FIELDS if f not in entry]
    assert not missing, "log line lacks %s: %r" % (missing, entry)
    for k, v in want.items():
        if isinstance(v, (set, frozenset, tuple)):
            assert entry.get(k) in v, "log %s=%r, expected one of %r in %r" % (
                k, entry.get(k), v, entry)
        else:
            assert entry.get(k) == v, "log %s=%r, expected %r in %r" % (k, entry.get(k), v,
                                                                        entry)
