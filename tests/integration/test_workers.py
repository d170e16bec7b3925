"""Several worker threads: every one serves, judges and logs on its own (issue 3, item 1)."""

import json
import threading

from checks import assert_refused
from client import RawConn, get


def test_configured_worker_count_is_started(sluice):
    p = sluice(config={"workers": 3})
    assert "3 workers running" in p.stderr()


def test_many_connections_across_workers_all_succeed_and_log_whole_lines(sluice):
    p = sluice(config={"workers": 2})
    errors = []

    def client():
        try:
            with RawConn(p.addr) as c:
                for _ in range(5):
                    c.send(b"GET http://public.test/bytes/100 HTTP/1.1\r\nHost: public.test\r\n\r\n")
                    r = c.read_response()
                    if r.status != 200 or len(r.body) != 100:
                        errors.append(r)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=client) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors[:3]
    lines = p.wait_logs({"host": "public.test"}, count=200, timeout=5.0)
    assert len(lines) == 200
    # Every line is one whole JSON object: workers never interleave their writes.
    for raw in p.stdout_bytes().splitlines():
        json.loads(raw)


def test_request_carrying_our_via_pseudonym_is_a_proxy_loop(sluice, origins):
    """A request that already went through this sluice (its Via names us) is refused, whichever
    worker it lands on, even when addresses alone would not show the loop."""
    p = sluice(config={"workers": 2})
    echo = get(p.addr, "http://public.test/echo").json()
    vias = [v for k, v in echo["headers"] if k.lower() == "via"]
    assert len(vias) == 1 and vias[0].startswith("1.1 sluice-"), echo["headers"]
    n0 = origins.hits("192.0.2.10")
    for _ in range(6):
        r = get(p.addr, "http://public.test/echo", extra_headers=[("Via", vias[0])])
        assert_refused(r, 403, "proxy_loop_detected")
    assert origins.hits("192.0.2.10") == n0
