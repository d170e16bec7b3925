"""Issue 15, item 2 (names): an agent allowed a wildcard can still carry data out in the name it
asks for — <encoded secret>.tunnel.test — over DNS, in a CONNECT or in a plain request, with no
byte of payload. With scan:, a name whose label is too long or looks like encoded data (dense
and wordless, policy/scan_hostname) is refused as encoded_hostname before it is resolved:
zero queries at the DNS server, zero connections at the origin. Real host names under the same
wildcard are served; scan.hostnames tunes the thresholds, exempts names (hosts:) or reports."""

import binascii

import pytest

from checks import assert_refused
from client import RawConn, connect_req, get
from test_dns_listener import NXDOMAIN, NOERROR, ask, values
from sluice_proc import free_port

ORIGIN = "192.0.2.10"
SECRET = b"ghp_a1B2c3D4e5F6g7H8i9J0"
HEX_NAME = binascii.hexlify(SECRET).decode() + ".x.tunnel.test"  # 48 hex digits in one label
B32_NAME = "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpi.tunnel.test"
LONG_NAME = "a" * 60 + ".tunnel.test"
BENIGN = ["my-load-balancer-1234567890.tunnel.test", "objectstorageprodeastus2.tunnel.test",
          "123e4567-e89b-12d3-a456-426614174000.tunnel.test", "d111111abcdef8.tunnel.test"]


@pytest.fixture
def names(dns):
    for n in [HEX_NAME, B32_NAME, LONG_NAME] + BENIGN:
        dns.set(n, a=[ORIGIN])
    yield
    dns.reset()


@pytest.fixture
def tsluice(sluice):
    def start(scan=None, **extra):
        port = free_port()
        cfg = {"allow": ["*.tunnel.test"], "scan": scan, "workers": 1,
               "listen": {"dns": "127.0.0.1:%d" % port}}
        cfg.update(extra)
        p = sluice(cfg)
        p.dns_port = port
        return p
    return start


def connect_status(p, authority):
    with RawConn(("127.0.0.1", p.port), 5) as c:
        c.send(connect_req(authority))
        return c.read_final_response("CONNECT").status


@pytest.mark.parametrize("name", [HEX_NAME, B32_NAME, LONG_NAME])
def test_encoded_names_never_leave(tsluice, names, dns, origins, name):
    p = tsluice()
    before = origins.hits(ORIGIN), origins.count(ORIGIN, 443)
    assert_refused(get(("127.0.0.1", p.port), "http://%s/echo" % name), 403,
                   "http_request_denied")
    assert connect_status(p, name + ":443") == 403
    r = ask(p.dns_port, name)
    assert r["rcode"] == NXDOMAIN and r["answers"] == [], r
    assert dns.queries(name) == 0
    assert (origins.hits(ORIGIN), origins.count(ORIGIN, 443)) == before
    lines = p.wait_logs({"reason": "encoded_hostname"}, count=3)
    assert all(l["decision"] == "deny" and l["rule"].startswith("scan.hostnames: label 1 ")
               for l in lines), lines
    assert not any(SECRET.hex() in str(l.get("rule")) for l in lines)


@pytest.mark.parametrize("name", BENIGN)
def test_real_names_under_the_wildcard_are_served(tsluice, names, name):
    p = tsluice()
    assert get(("127.0.0.1", p.port), "http://%s/echo" % name).status == 200
    r = ask(p.dns_port, name)
    assert r["rcode"] == NOERROR and values(r, "A") == [ORIGIN], r


def test_report_exempt_and_off(tsluice, names, dns, origins):
    url = "http://%s/echo" % HEX_NAME
    p = tsluice(scan={"hostnames": {"action": "report"}})
    assert get(("127.0.0.1", p.port), url).status == 200
    [line] = p.wait_logs({"reason": "encoded_hostname"})
    assert line["decision"] == "report", line
    p = tsluice(scan={"hostnames": {"hosts": ["*.x.tunnel.test"]}})
    assert get(("127.0.0.1", p.port), url).status == 200
    assert_refused(get(("127.0.0.1", p.port), "http://%s/echo" % B32_NAME), 403)
    p = tsluice(scan={"hostnames": False})
    assert get(("127.0.0.1", p.port), url).status == 200
    # thresholds: a shorter max_label refuses what the default serves
    p = tsluice(scan={"hostnames": {"max_label": 20}})
    assert_refused(get(("127.0.0.1", p.port), "http://%s/echo" % BENIGN[0]), 403)


def test_without_a_scan_section_names_are_not_judged(sluice, names):
    p = sluice({"allow": ["*.tunnel.test"]})
    assert get(("127.0.0.1", p.port), "http://%s/echo" % HEX_NAME).status == 200


# ---- a token itself as a label ---------------------------------------------------------------

from test_scan import FORMATS  # noqa: E402

IN_A_LABEL = sorted(n for n, t in FORMATS.items() if len(t) <= 63)


@pytest.mark.parametrize("fmt", IN_A_LABEL)
def test_a_token_as_a_label_never_leaves(tsluice, dns, origins, fmt):
    """Each format (those a label can hold) as a subdomain, in the agent's spelling or lower
    case as DNS sends it: refused in a request, a CONNECT and a DNS question, with zero queries
    and zero connections; the log withholds the name."""
    name = FORMATS[fmt] + ".t.tunnel.test"
    dns.set(name.lower(), a=[ORIGIN])
    p = tsluice(scan={"hostnames": False})  # the patterns alone, not the label check
    before = origins.hits(ORIGIN), origins.count(ORIGIN, 443)
    assert_refused(get(("127.0.0.1", p.port), "http://%s/echo" % name), 403)
    assert connect_status(p, name.lower() + ":443") == 403
    r = ask(p.dns_port, name.lower())
    assert r["rcode"] == NXDOMAIN, r
    assert dns.queries(name.lower()) == 0
    assert (origins.hits(ORIGIN), origins.count(ORIGIN, 443)) == before
    lines = p.wait_logs({"reason": "secret_detected"}, count=3)
    assert all(l["rule"] == "scan: %s in host" % fmt for l in lines), lines
    assert all(l.get("host", l.get("name")) == "[withheld]" for l in lines), lines
    assert FORMATS[fmt].lower() not in str(lines).lower()
