"""A small authoritative DNS server for the integration tests (stdlib only).

It answers over UDP and TCP from a table that tests can change while it runs: A, AAAA, CNAME
chains, per-record TTL (0 included), NXDOMAIN, SERVFAIL, no answer at all, and "rotating" A
answers that alternate on every query (the DNS rebinding trick). It counts queries per name,
queries over TCP and truncated UDP answers; TCP can be left off (tcp=False).
Names are matched case-insensitively. It only ever binds inside the test network namespace.
"""

import ipaddress
import socket
import struct
import threading
import time

from stub_server import StubServer, conversation, listen_socket, spawn, udp_socket

TYPE_A = 1
TYPE_NS = 2
TYPE_CNAME = 5
TYPE_SOA = 6
TYPE_MX = 15
TYPE_TXT = 16
TYPE_AAAA = 28
TYPE_SVCB = 64
TYPE_HTTPS = 65
TYPE_NAMES = {TYPE_A: "A", TYPE_CNAME: "CNAME", TYPE_SOA: "SOA", TYPE_MX: "MX", TYPE_TXT: "TXT",
              TYPE_AAAA: "AAAA", TYPE_SVCB: "SVCB", TYPE_HTTPS: "HTTPS"}

RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3

# The names the tests rely on (see tests/integration/README in conftest.py's docstring).
DEFAULT_TABLE = {
    "public.test": {"a": ["192.0.2.10"]},
    "public2.test": {"a": ["198.51.100.10"]},
    "public6.test": {"aaaa": ["2001:db8::10"]},
    "both.test": {"a": ["192.0.2.10"], "aaaa": ["2001:db8::10"]},
    "meta.test": {"a": ["169.254.169.254"]},
    "internal.test": {"a": ["10.0.0.1"]},
    "loop.test": {"a": ["127.0.0.2"]},
    "self.test": {"a": ["127.0.0.1"]},
    "loop6.test": {"aaaa": ["::1"]},
    "ula.test": {"aaaa": ["fd00::1"]},
    "mapped6.test": {"aaaa": ["::ffff:169.254.169.254"]},
    "cname-meta.test": {"cname": "meta.test"},
    "cname-public.test": {"cname": "public.test"},
    "cname-chain.test": {"cname": "cname-meta.test"},
    "mixed.test": {"a": ["192.0.2.10", "10.0.0.1"]},
    "mixed6.test": {"a": ["192.0.2.10"], "aaaa": ["fd00::1"]},
    "rebind.test": {"rotate_a": [["192.0.2.10"], ["169.254.169.254"]], "ttl": 0},
    "azure.test": {"a": ["168.63.129.16"]},
    "doc3.test": {"a": ["203.0.113.10"]},
    "refused.test": {"a": ["192.0.2.11"]},
    "blackhole.test": {"a": ["192.0.2.12"]},
    "www.blocked.test": {"a": ["192.0.2.10"]},
    "blocked.test": {"a": ["192.0.2.10"]},
    "nx.test": {"rcode": RCODE_NXDOMAIN},
    "fail.test": {"rcode": RCODE_SERVFAIL},
    "slow.test": {"drop": True},
}


def encode_name(name):
    out = bytearray()
    for label in name.rstrip(".").split("."):
        if not label:
            continue
        raw = label.encode("ascii")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def decode_name(msg, off):
    """Returns (name, offset after the name in the original position). Follows pointers."""
    labels = []
    jumped = False
    end = None
    hops = 0
    while True:
        if off >= len(msg):
            raise ValueError("name runs past the message")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg):
                raise ValueError("truncated pointer")
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped = True
            hops += 1
            if hops > 32:
                raise ValueError("pointer loop")
            continue
        if n & 0xC0:
            raise ValueError("bad label type")
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    return ".".join(labels), (end if jumped else off)


def _rr(name, rtype, ttl, rdata):
    return encode_name(name) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


class Record:
    """One table entry. a/aaaa: address lists; cname: target; ttl: seconds for every answer;
    rcode: NXDOMAIN/SERVFAIL instead of data; drop: never answer; rotate_a: a list of A lists,
    the n-th A query gets rotate_a[n % len]; delay: seconds to wait before answering;
    records: {type number: [RDATA bytes, ...]} for the other types (TXT, MX, HTTPS...);
    corrupt: the response claims one answer record more than it holds."""

    def __init__(self, a=(), aaaa=(), cname=None, ttl=60, rcode=RCODE_NOERROR, drop=False,
                 rotate_a=None, delay=0.0, records=None, corrupt=False):
        self.a = [str(ipaddress.IPv4Address(x)) for x in a]
        self.aaaa = [str(ipaddress.IPv6Address(x)) for x in aaaa]
        self.cname = cname.lower().rstrip(".") if cname else None
        self.ttl = int(ttl)
        self.rcode = rcode
        self.drop = drop
        self.rotate_a = [[str(ipaddress.IPv4Address(x)) for x in lst] for lst in rotate_a] \
            if rotate_a else None
        self.delay = delay
        self.records = {int(k): list(v) for k, v in (records or {}).items()}
        self.corrupt = corrupt


class DNSServer(StubServer):
    def __init__(self, host="127.0.0.1", port=5353, tcp=True):
        super().__init__()
        self.host = host
        self.port = port
        self.tcp = tcp
        self._lock = threading.Lock()
        self._table = {}
        self._counts = {}
        self._rotations = {}
        self.tcp_queries = 0  # never reset: tests compare before and after
        self.udp_truncated = 0
        self.reset()

    # ---- table ------------------------------------------------------------------------

    def reset(self):
        """Restores the default table; counters are cleared."""
        with self._lock:
            self._table = {k: Record(**v) for k, v in DEFAULT_TABLE.items()}
            self._counts = {}
            self._rotations = {}

    def set(self, name, **spec):
        with self._lock:
            key = name.lower().rstrip(".")
            self._table[key] = Record(**spec)
            self._rotations.pop(key, None)

    def remove(self, name):
        with self._lock:
            self._table.pop(name.lower().rstrip("."), None)

    def queries(self, name, qtype=None):
        """How many queries arrived for name (any type, or only qtype: "A", "AAAA", ...)."""
        key = name.lower().rstrip(".")
        with self._lock:
            if qtype is None:
                return sum(v for (n, _), v in self._counts.items() if n == key)
            return self._counts.get((key, qtype), 0)

    # ---- answering --------------------------------------------------------------------

    def _lookup(self, qname, qtype):
        """Returns (rcode, answer RRs, drop, delay, corrupt) for one question."""
        key = qname.lower().rstrip(".")
        tname = TYPE_NAMES.get(qtype, str(qtype))
        with self._lock:
            self._counts[(key, tname)] = self._counts.get((key, tname), 0) + 1
            rec = self._table.get(key)
            if rec is None:
                return RCODE_NXDOMAIN, [], False, 0.0, False
            if rec.drop:
                return RCODE_NOERROR, [], True, 0.0, False
            if rec.rcode != RCODE_NOERROR:
                return rec.rcode, [], False, rec.delay, False
            answers = []
            owner = qname.rstrip(".")
            hops = 0
            while rec.cname and qtype != TYPE_CNAME:
                answers.append(_rr(owner, TYPE_CNAME, rec.ttl, encode_name(rec.cname)))
                owner = rec.cname
                nxt = self._table.get(rec.cname)
                hops += 1
                if nxt is None or hops > 8:
                    return RCODE_NOERROR, answers, False, rec.delay, False
                self._counts[(owner, tname)] = self._counts.get((owner, tname), 0) + 1
                rec = nxt
            if qtype == TYPE_A:
                addrs = rec.a
                if rec.rotate_a:
                    n = self._rotations.get(owner, 0)
                    self._rotations[owner] = n + 1
                    addrs = rec.rotate_a[n % len(rec.rotate_a)]
                for a in addrs:
                    answers.append(_rr(owner, TYPE_A, rec.ttl, socket.inet_aton(a)))
            elif qtype == TYPE_AAAA:
                for a in rec.aaaa:
                    answers.append(_rr(owner, TYPE_AAAA, rec.ttl,
                                       socket.inet_pton(socket.AF_INET6, a)))
            elif qtype == TYPE_CNAME and rec.cname:
                answers.append(_rr(owner, TYPE_CNAME, rec.ttl, encode_name(rec.cname)))
            for rdata in rec.records.get(qtype, ()):
                answers.append(_rr(owner, qtype, rec.ttl, rdata))
            return RCODE_NOERROR, answers, False, rec.delay, rec.corrupt

    @staticmethod
    def _soa():
        # Negative answers carry an SOA with TTL 0 and minimum 0 so nothing caches them.
        rdata = encode_name("ns.test") + encode_name("hostmaster.test") + \
            struct.pack("!IIIII", 1, 60, 60, 60, 0)
        return _rr("test", TYPE_SOA, 0, rdata)

    def answer(self, query):
        """Returns (response bytes or None to stay silent, delay seconds)."""
        if len(query) < 12:
            return None, 0.0
        qid, flags, qdcount = struct.unpack("!HHH", query[:6])
        if flags & 0x8000:
            return None, 0.0  # a response, not a query
        opcode = (flags >> 11) & 0xF
        rd = flags & 0x0100
        try:
            if qdcount != 1 or opcode != 0:
                raise ValueError("unsupported")
            qname, off = decode_name(query, 12)
            qtype, qclass = struct.unpack("!HH", query[off:off + 4])
            question = query[12:off + 4]
        except (ValueError, struct.error):
            hdr = struct.pack("!HHHHHH", qid, 0x8000 | (opcode << 11) | rd | RCODE_FORMERR,
                              0, 0, 0, 0)
            return hdr, 0.0
        rcode, answers, drop, delay, corrupt = self._lookup(qname, qtype)
        if drop:
            return None, 0.0
        authority = [self._soa()] if rcode == RCODE_NXDOMAIN or (rcode == 0 and not answers) \
            else []
        rflags = 0x8000 | 0x0400 | rd | 0x0080 | rcode
        hdr = struct.pack("!HHHHHH", qid, rflags, 1, len(answers) + corrupt, len(authority), 0)
        return hdr + question + b"".join(answers) + b"".join(authority), delay

    # ---- sockets ----------------------------------------------------------------------

    def start(self):
        self._udp = self.own(udp_socket(self.host, self.port, reuse=True))
        self.serve_datagrams(self._udp, self._udp_query, "dns-udp")
        if self.tcp:
            tcp = self.own(listen_socket(self.host, self.port, backlog=64))
            self.serve_stream(tcp, lambda conn: spawn(self._tcp_conn, conn), "dns-tcp")
        return self

    def _udp_query(self, data, peer):
        resp, delay = self.answer(data)
        if resp is None:
            return
        if len(resp) > 512:
            # RFC 1035 §4.2.1: over UDP, send only the question with TC set; the client
            # retries over TCP.
            resp = truncate(resp)
            with self._lock:
                self.udp_truncated += 1
        if delay:
            threading.Timer(delay, self._udp_send, (resp, peer)).start()
        else:
            self._udp_send(resp, peer)

    def _udp_send(self, resp, peer):
        try:
            self._udp.sendto(resp, peer)
        except OSError:
            pass

    def _tcp_conn(self, conn):
        with conversation(conn, 30):
            while True:
                hdr = _recv_exact(conn, 2)
                if hdr is None:
                    return
                (n,) = struct.unpack("!H", hdr)
                msg = _recv_exact(conn, n)
                if msg is None:
                    return
                with self._lock:
                    self.tcp_queries += 1
                resp, delay = self.answer(msg)
                if resp is None:
                    continue  # stay silent, keep the connection open
                if delay:
                    time.sleep(delay)
                conn.sendall(struct.pack("!H", len(resp)) + resp)


def truncate(resp):
    qid, flags = struct.unpack("!HH", resp[:4])
    _, off = decode_name(resp, 12)
    return struct.pack("!HHHHHH", qid, flags | 0x0200, 1, 0, 0, 0) + resp[12:off + 4]


def _recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


# ---- a tiny stub resolver, used by the harness self-tests --------------------------------

def query(name, qtype="A", server=("127.0.0.1", 5353), tcp=False, timeout=1.0, qid=0x1234):
    """Sends one query; returns {"rcode", "answers": [(name, type, ttl, value)], "flags"} or
    raises socket.timeout when the server stays silent."""
    code = {"A": TYPE_A, "AAAA": TYPE_AAAA, "CNAME": TYPE_CNAME}[qtype]
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack("!HH", code, 1)
    if tcp:
        with socket.create_connection(server, timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(msg)) + msg)
            (n,) = struct.unpack("!H", _recv_exact(s, 2))
            resp = _recv_exact(s, n)
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(msg, server)
            resp, _ = s.recvfrom(4096)
    return parse_response(resp, qid)


def parse_response(resp, qid=None):
    rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", resp[:12])
    if qid is not None and rid != qid:
        raise ValueError("id mismatch")
    off = 12
    for _ in range(qd):
        _, off = decode_name(resp, off)
        off += 4
    answers = []
    for _ in range(an):
        name, off = decode_name(resp, off)
        rtype, _cls, ttl, rdlen = struct.unpack("!HHIH", resp[off:off + 10])
        off += 10
        rdata = resp[off:off + rdlen]
        if rtype == TYPE_A:
            value = socket.inet_ntoa(rdata)
        elif rtype == TYPE_AAAA:
            value = socket.inet_ntop(socket.AF_INET6, rdata)
        elif rtype == TYPE_CNAME:
            value, _ = decode_name(resp, off)
        else:
            value = rdata
        answers.append((name, TYPE_NAMES.get(rtype, str(rtype)), ttl, value))
        off += rdlen
    return {"rcode": flags & 0xF, "flags": flags, "answers": answers}
