"""A reload revokes at once (issue 10, item 0). Every request that starts after a reload took
effect is judged by the new policy, on new and kept-alive client connections alike; an open
CONNECT tunnel whose destination the new policy denies is cut within timeouts.reload_revoke;
parked connections to route upstreams are closed. A revoked request passes only if its upstream
counted zero new connections and requests."""

import time

from agents_util import (SRC_CODER, SRC_RESEARCH, SourceConn, build_request, config_text,
                         reload, sha256_hex)
from checks import assert_refused
from client import RawConn, connect_req
from searx_stub import SEARX_IP, searx, wait_idle  # noqa: F401 (searx is a fixture)
from test_admin import start_with_admin, wait_metric

SECRET = "Bearer searx-key-revoke"
ROUTE = {"host": "search.internal", "upstream": "http://%s:8080" % SEARX_IP,
         "agents": ["research"],
         "headers": {"set": {"Authorization": {"env": "SEARX_KEY"}}}}
AGENTS = [{"name": "research", "match": {"source": [SRC_RESEARCH + "/32"]},
           "allow": ["public.test"]},
          {"name": "coder", "match": {"source": [SRC_CODER + "/32"]},
           "allow": ["public.test"]}]
SEARCH = "http://search.internal/search?q=a&format=json"


def echo_once(c, msg):
    """Sends msg through an open tunnel to the echo origin and reads it back; returns what came
    back, b"" when the tunnel was closed."""
    try:
        c.send(msg)
    except OSError:
        return b""
    got = b""
    while len(got) < len(msg):
        try:
            chunk = c.recv_some()
        except OSError:
            return got
        if not chunk:
            return got
        got += chunk
    return got


def wait_closed(c, timeout):
    """Seconds until the peer closed c (reads return end of stream), or None."""
    start = time.monotonic()
    c.sock.settimeout(0.05)
    while time.monotonic() - start < timeout:
        try:
            if c.sock.recv(4096) == b"":
                return time.monotonic() - start
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - start
    return None


# ---- requests on a kept-alive client connection ------------------------------------------

def test_next_request_on_a_kept_alive_connection_uses_the_new_policy(sluice, origins):
    p = sluice(config={"allow": ["public.test", "public2.test"]})
    with RawConn(p.addr) as c:
        c.send(build_request("http://public.test/echo"))
        assert c.read_response().status == 200
        reload(p, config_text(p, {"allow": ["public2.test"]}))
        time.sleep(0.3)  # the connection sits idle across the reload
        n0 = origins.hits("192.0.2.10")
        c.send(build_request("http://public.test/echo?after"))
        assert_refused(c.read_response(), 403, "http_request_denied")
        assert origins.hits("192.0.2.10") == n0, "the revoked host was reached"
        # The same connection still serves what the new policy allows.
        c.send(build_request("http://public2.test/echo"))
        assert c.read_response().status == 200
    [e] = p.wait_logs(match={"host": "public.test", "status": 403})
    assert e["decision"] == "deny" and e["reason"] == "domain_not_allowed", e


def test_pipelined_request_after_a_reload_uses_the_new_policy(sluice, origins):
    """Bytes of the next request already buffered when the reload lands are judged anew."""
    p = sluice(config={"allow": ["public.test"]})
    with RawConn(p.addr) as c:
        c.send(build_request("http://public.test/echo?first"))
        assert c.read_response().status == 200
        reload(p, config_text(p, {"allow": ["public2.test"]}))
        n0 = origins.hits("192.0.2.10")
        c.send(build_request("http://public.test/echo?a") + build_request("http://public.test/b"))
        assert_refused(c.read_response(), 403, "http_request_denied")
        assert_refused(c.read_response(), 403, "http_request_denied")
        assert origins.hits("192.0.2.10") == n0


def test_agent_removed_from_a_route_loses_it_on_its_open_connection(sluice, monkeypatch,
                                                                     searx):  # noqa: F811
    monkeypatch.setenv("SEARX_KEY", SECRET)
    p = sluice(config={"agents": AGENTS, "routes": [ROUTE]})
    with SourceConn(p.addr, SRC_RESEARCH) as c:
        c.send(build_request(SEARCH))
        assert c.read_response().status == 200
        narrowed = dict(ROUTE, agents=["coder"])
        reload(p, config_text(p, {"agents": AGENTS, "routes": [narrowed]}))
        time.sleep(0.3)
        wait_idle(searx)
        before = (len(searx.requests), searx.connections())
        c.send(build_request(SEARCH + "&after"))
        r = c.read_response()
        assert r.status == 403 and "route_not_allowed" in r.text(), r
        wait_idle(searx)
        assert (len(searx.requests), searx.connections()) == before, "the route was used"


# ---- open tunnels ---------------------------------------------------------------------------

def test_open_tunnel_to_a_now_denied_host_is_cut(sluice):
    p = sluice(config={"allow": ["public.test", "public6.test"],
                       "timeouts": {"reload_revoke": "300ms"}})
    with RawConn(p.addr) as kept, RawConn(p.addr) as cut:
        kept.send(connect_req("public6.test:443"))
        assert kept.read_response("CONNECT").status == 200
        cut.send(connect_req("public.test:443"))
        assert cut.read_response("CONNECT").status == 200
        assert echo_once(cut, b"before") == b"before"
        reload(p, config_text(p, {"allow": ["public6.test"]}))
        took = wait_closed(cut, 3.0)
        assert took is not None, "the tunnel to the revoked host stayed open"
        assert took < 2.0, took
        # A tunnel the new policy still allows is untouched.
        assert echo_once(kept, b"still-here") == b"still-here"
    [e] = p.wait_logs(match={"host": "public.test", "method": "CONNECT"})
    assert e["decision"] == "deny" and e["reason"] == "domain_not_allowed", e
    assert e["rule"].startswith("reload: "), e
    assert e["status"] == 200 and e["bytes_down"] >= 6, e


def test_tunnel_revoked_when_its_agent_token_changes(sluice):
    agents = [{"name": "ci", "match": {"token_sha256": sha256_hex("old")},
               "allow": ["public.test"]}]
    p = sluice(config={"agents": agents, "timeouts": {"reload_revoke": "200ms"}})
    with RawConn(p.addr) as c:
        c.send(build_request("public.test:443", auth=("ci", "old"), method="CONNECT"))
        assert c.read_response("CONNECT").status == 200
        reload(p, config_text(p, {"agents": [dict(agents[0],
                                                  match={"token_sha256": sha256_hex("new")})]}))
        assert wait_closed(c, 3.0) is not None, "a tunnel opened with a revoked token stayed"
    [e] = p.wait_logs(match={"method": "CONNECT", "decision": "deny"})
    assert e["reason"] == "auth_required", e


def test_tunnel_of_an_agent_whose_allow_list_is_unchanged_stays(sluice):
    agents = [{"name": "ci", "match": {"token_sha256": sha256_hex("tok")},
               "allow": ["public.test"]}]
    p = sluice(config={"agents": agents, "timeouts": {"reload_revoke": "200ms"}})
    with RawConn(p.addr) as c:
        c.send(build_request("public.test:443", auth=("ci", "tok"), method="CONNECT"))
        assert c.read_response("CONNECT").status == 200
        reload(p, config_text(p, {"agents": agents, "allow": ["other.test"]}))
        time.sleep(0.6)
        assert echo_once(c, b"after-reload") == b"after-reload"


def test_reload_revoke_zero_keeps_tunnels_to_their_end(sluice):
    p = sluice(config={"allow": ["public.test"], "timeouts": {"reload_revoke": 0}})
    with RawConn(p.addr) as c:
        c.send(connect_req("public.test:443"))
        assert c.read_response("CONNECT").status == 200
        reload(p, config_text(p, {"allow": ["public2.test"]}))
        time.sleep(0.5)
        assert echo_once(c, b"kept") == b"kept"
    with RawConn(p.addr) as c:
        c.send(connect_req("public.test:443"))
        assert_refused(c.read_response("CONNECT"), 403, "http_request_denied")


def test_revocation_is_counted(sluice):
    p = start_with_admin(sluice, {"allow": ["public.test"],
                                  "timeouts": {"reload_revoke": "100ms"}})
    with RawConn(p.addr) as c:
        c.send(connect_req("public.test:443"))
        assert c.read_response("CONNECT").status == 200
        reload(p, config_text(p, {"allow": ["public2.test"]}))
        assert wait_closed(c, 3.0) is not None
    assert wait_metric(p, "sluice_tunnels_revoked_total", 1) == 1


# ---- parked upstream connections of routes --------------------------------------------------

def test_reload_closes_parked_route_connections(sluice, monkeypatch, searx):  # noqa: F811
    monkeypatch.setenv("SEARX_KEY", SECRET)
    p = start_with_admin(sluice, {"agents": AGENTS, "routes": [ROUTE], "workers": 1})
    with SourceConn(p.addr, SRC_RESEARCH) as c:
        c.send(build_request(SEARCH))
        assert c.read_response().status == 200
    assert wait_metric(p, "sluice_upstream_connections_idle", 1) == 1
    moved = dict(ROUTE, upstream="http://%s:80" % SEARX_IP)
    reload(p, config_text(p, {"agents": AGENTS, "routes": [moved]}))
    assert wait_metric(p, "sluice_upstream_connections_idle", 0) == 0


def test_connect_judged_before_a_reload_and_connected_after_it_is_judged_again(sluice, dns,
                                                                             origins):
    """The CONNECT is allowed, then waits on DNS while the reload lands: it must not open a
    tunnel under the policy that was revoked in the meantime."""
    dns.set("slowpub.test", a=["192.0.2.10"], delay=1.0)
    p = sluice(config={"allow": ["slowpub.test", "public.test"],
                       "timeouts": {"reload_revoke": "5s"}})
    n0 = origins.count("192.0.2.10", 443)
    with RawConn(p.addr) as c:
        c.send(connect_req("slowpub.test:443"))
        time.sleep(0.2)  # judged, now resolving
        reload(p, config_text(p, {"allow": ["public.test"]}))
        r = c.read_response("CONNECT")
        assert_refused(r, 403, "http_request_denied")
        assert "reload: " in r.text(), r
    [e] = p.wait_logs(match={"host": "slowpub.test"})
    assert e["decision"] == "deny" and e["reason"] == "domain_not_allowed", e
    # The TCP connection was made (the answer came after the reload), but no byte was
    # relayed: the tunnel never opened.
    assert e["bytes_up"] == 0 and e["bytes_down"] == 0, e
    assert origins.count("192.0.2.10", 443) - n0 <= 1
