"""The test network namespace: proof that we are isolated, and the addresses the fake servers
use. Nothing here may ever run against a real network: check_isolated() is called before any
address is added or any socket is bound.
"""

import os
import socket
import subprocess

# Addresses added to lo. "public" ones stand in for the Internet (the test config re-allows
# their documentation ranges); the rest are "internal" canaries or special cases.
IPV4_ADDRS = [
    "169.254.169.254",  # cloud metadata (canary)
    "10.0.0.1",         # RFC 1918 (canary)
    "168.63.129.16",    # Azure's public metadata address (canary)
    "203.0.113.10",     # documentation range NOT re-allowed by the test config (canary)
    "192.0.2.10",       # public origin
    "198.51.100.10",    # public origin
    "192.0.2.11",       # public address with no listener: connection refused
    "192.0.2.12",       # public address with a full accept queue: connect timeout
]
IPV6_ADDRS = [
    "fd00::1",          # ULA (canary)
    "2001:db8::10",     # public origin
]


def check_isolated():
    """Returns None when this process is in a network namespace whose only interface is lo,
    else a message saying why not.

    /sys/class/net is not used: sysfs shows the namespace of whoever mounted /sys, so under a
    plain `unshare -n` it still lists the host's interfaces. if_nameindex() and
    /proc/self/net/dev both ask the namespace this process is in."""
    names = sorted(name for _, name in socket.if_nameindex())
    if names != ["lo"]:
        return "network interfaces visible: %s (expected only lo)" % ", ".join(names)
    with open("/proc/self/net/dev") as f:
        devs = sorted(line.split(":")[0].strip() for line in f.read().splitlines()[2:])
    if devs != ["lo"]:
        return "/proc/self/net/dev lists %s (expected only lo)" % ", ".join(devs)
    try:
        if os.readlink("/proc/self/ns/net") == os.readlink("/proc/1/ns/net"):
            return "same network namespace as PID 1"
    except OSError:
        pass  # PID 1 may be unreadable (containers); the interface checks above suffice
    return None


def _run(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def setup_addresses():
    _run("ip", "link", "set", "lo", "up")
    with open("/proc/sys/net/ipv6/conf/lo/disable_ipv6") as f:
        if f.read().strip() != "0":
            _run("sysctl", "-qw", "net.ipv6.conf.lo.disable_ipv6=0")
    have = _run("ip", "-o", "addr", "show", "dev", "lo").stdout
    for a in IPV4_ADDRS:
        if " %s/32 " % a not in have:
            _run("ip", "addr", "add", a + "/32", "dev", "lo")
    for a in IPV6_ADDRS:
        if " %s/128 " % a not in have:
            _run("ip", "-6", "addr", "add", a + "/128", "dev", "lo", "nodad")
    if " ::1/128 " not in _run("ip", "-o", "addr", "show", "dev", "lo").stdout:
        _run("ip", "-6", "addr", "add", "::1/128", "dev", "lo", "nodad")
