"""Streaming with bounded memory: a body far larger than any buffer passes through without
sluice's memory growing with it (issue 2, item 2), and idle connections give buffers back."""

import os
import socket

import pytest

import fake_servers
from client import RawConn, connect_req, curl_sha256
from sluice_proc import VALGRIND

MB = 1024 * 1024
SANITIZED = "ASAN_OPTIONS" in os.environ


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(SANITIZED, reason="ASan's shadow memory makes RSS meaningless")
@pytest.mark.skipif(VALGRIND, reason="valgrind's shadow memory makes RSS meaningless")
def test_200mb_download_and_tunnel_keep_peak_memory_bounded(sluice):
    p = sluice(config={"workers": 1})
    pid = p.proc.proc.pid
    rc, err, digest, n, code = curl_sha256(p.url, "http://public.test/bytes/%d" % (200 * MB))
    assert rc == 0 and code == 200 and n == 200 * MB, err
    assert digest == fake_servers.pattern_sha256(200 * MB)
    rc, err, digest, n, code = curl_sha256(p.url, "http://public.test/chunked/%d" % (200 * MB),
                                           ["-p"])
    assert rc == 0 and code == 200 and n == 200 * MB, err
    # 400 MB went through; the process never held more than a few buffers of it.
    assert peak_rss_kib(pid) < 24 * 1024, "peak RSS %d KiB" % peak_rss_kib(pid)


@pytest.mark.skipif(SANITIZED, reason="ASan's shadow memory makes RSS meaningless")
@pytest.mark.skipif(VALGRIND, reason="valgrind's shadow memory makes RSS meaningless")
def test_idle_tunnels_cost_little_memory(sluice):
    """Idle tunnels hold no user-space buffer: 400 idle tunnels cost well under 8 KiB each."""
    p = sluice(config={"workers": 1})
    pid = p.proc.proc.pid
    conns = []
    try:
        warm = RawConn(p.addr)
        warm.send(connect_req("public.test:443"))
        assert warm.read_response("CONNECT").status == 200
        conns.append(warm)
        before = rss_kib(pid)
        for _ in range(400):
            c = RawConn(p.addr)
            c.send(connect_req("public.test:443"))
            assert c.read_response("CONNECT").status == 200
            c.send(b"x" * 1000)
            got = b""
            while len(got) < 1000:
                got += c.recv_some(4096)
            conns.append(c)
        after = rss_kib(pid)
        per_tunnel = (after - before) * 1024 / 400
        assert per_tunnel < 8192, "%.0f bytes per idle tunnel" % per_tunnel
    finally:
        for c in conns:
            c.close()
