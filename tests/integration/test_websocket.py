"""Issue 14, item 3 (plain HTTP): a WebSocket handshake is judged as the GET it is, sent on with
its Upgrade, and once the origin answers 101 the connection relays both ways, bytes exact; an
origin that declines answers as usual; any other Upgrade (h2c) is dropped as hop-by-hop; a path
rule judges the handshake like any request. The origin is a recording server inside the suite's
network namespace."""

import base64
import hashlib
import socket
import time

import pytest

from stub_server import StubServer, conversation, listen_socket, spawn

TARGET_IP = "192.0.2.10"  # public.test
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WsOrigin(StubServer):
    """Answers a WebSocket handshake with 101 (or 200 when `decline`, or when the Upgrade it
    got is not websocket), then echoes raw bytes; keeps every request head it read."""

    def __init__(self, decline=False):
        super().__init__()
        self.decline = decline
        self.heads = []
        sock = self.own(listen_socket(TARGET_IP, 0))
        self.port = sock.getsockname()[1]
        self.serve_stream(sock, lambda conn: spawn(self._conn, conn), "ws-origin")

    def _conn(self, conn):
        with conversation(conn, 5):
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            self.heads.append(head.decode("latin-1"))
            fields = {}
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                fields[k.strip().lower()] = v.strip()
            if self.decline or fields.get(b"upgrade", b"").lower() != b"websocket":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno")
                time.sleep(0.5)
                return
            accept = base64.b64encode(hashlib.sha1(fields[b"sec-websocket-key"] + GUID).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept +
                         b"\r\n\r\nHELLO-FROM-ORIGIN")
            if rest:
                conn.sendall(rest)
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                conn.sendall(chunk)


@pytest.fixture
def ws_origin():
    o = WsOrigin()
    yield o
    o.stop()


KEY = base64.b64encode(b"0123456789abcdef")
WANT_ACCEPT = base64.b64encode(hashlib.sha1(KEY + GUID).digest())


def handshake(port, origin_port, path="/chat", upgrade=b"websocket", extra=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET http://public.test:%d%s HTTP/1.1\r\nHost: public.test:%d\r\n"
              b"Connection: Upgrade\r\nUpgrade: %s\r\nSec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Key: %s\r\n%s\r\n" % (origin_port, path.encode(), origin_port,
                                                    upgrade, KEY, extra))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        assert chunk, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return s, head, rest


def read_exactly(s, n):
    out = b""
    if n <= 0:
        return out
    while len(out) < n:
        chunk = s.recv(n - len(out))
        assert chunk, out
        out += chunk
    return out


@pytest.fixture
def ws_sluice(sluice):
    def start(**extra):
        cfg = {"ports": ["*"], "allow": ["public.test"], "workers": 1}
        cfg.update(extra)
        return sluice(cfg)
    return start


def test_websocket_is_relayed_after_101(ws_sluice, ws_origin):
    p = ws_sluice()
    s, head, rest = handshake(p.port, ws_origin.port)
    assert head.startswith(b"HTTP/1.1 101"), head
    assert b"Sec-WebSocket-Accept: " + WANT_ACCEPT in head, head
    assert b"Upgrade: websocket" in head and b"Connection: Upgrade" in head, head
    got = rest + read_exactly(s, len(b"HELLO-FROM-ORIGIN") - len(rest))
    assert got == b"HELLO-FROM-ORIGIN"
    payload = bytes(range(256)) * 400  # 100 KiB both ways, byte-exact
    s.sendall(payload)
    assert read_exactly(s, len(payload)) == payload
    [open_line] = p.wait_logs({"event": "open"}, opens=True)
    assert open_line["method"] == "GET" and open_line["status"] == 101, open_line
    s.close()
    [end] = p.wait_logs({"event": "end"})
    assert end["status"] == 101 and end["bytes_up"] >= len(payload), end
    # The origin saw the handshake with its Upgrade, not a stripped GET.
    assert "Upgrade: websocket" in ws_origin.heads[0], ws_origin.heads


def test_an_origin_that_declines_answers_as_usual(ws_sluice):
    o = WsOrigin(decline=True)
    try:
        p = ws_sluice()
        s, head, rest = handshake(p.port, o.port)
        assert head.startswith(b"HTTP/1.1 200"), head
        s.close()
        [end] = p.wait_logs({"event": "end"})
        assert end["status"] == 200, end
    finally:
        o.stop()


def test_other_upgrades_are_dropped(ws_sluice, ws_origin):
    p = ws_sluice()
    s, head, rest = handshake(p.port, ws_origin.port, upgrade=b"h2c")
    assert head.startswith(b"HTTP/1.1 200"), head  # the origin saw no upgrade to accept
    s.close()
    assert "Upgrade" not in ws_origin.heads[0] and "h2c" not in ws_origin.heads[0], \
        ws_origin.heads


def test_a_path_rule_judges_the_handshake(ws_sluice, ws_origin):
    p = ws_sluice(rules=[{"host": "public.test", "methods": ["GET"], "paths": ["/chat"]}])
    s, head, _ = handshake(p.port, ws_origin.port, path="/admin")
    assert head.startswith(b"HTTP/1.1 403"), head
    s.close()
    assert ws_origin.heads == []
    s, head, _ = handshake(p.port, ws_origin.port, path="/chat")
    assert head.startswith(b"HTTP/1.1 101"), head
    s.close()


def test_a_reload_judges_an_open_websocket_by_its_path(ws_sluice, ws_origin):
    """Revoked when the new rules no longer allow its handshake's path; kept when they do."""
    from agents_util import config_text, reload
    rules = [{"host": "public.test", "methods": ["GET"], "paths": ["/chat", "/feed"]}]
    p = ws_sluice(rules=rules, timeouts={"reload_revoke": "200ms"})
    kept, head, rest = handshake(p.port, ws_origin.port, path="/chat")
    assert head.startswith(b"HTTP/1.1 101"), head
    read_exactly(kept, len(b"HELLO-FROM-ORIGIN") - len(rest))
    cut, head, rest = handshake(p.port, ws_origin.port, path="/./feed")  # judged as /feed
    assert head.startswith(b"HTTP/1.1 101"), head
    read_exactly(cut, len(b"HELLO-FROM-ORIGIN") - len(rest))
    reload(p, config_text(p, {"rules": [dict(rules[0], paths=["/chat"])]}))
    cut.settimeout(3)
    try:
        closed = cut.recv(1) == b""
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        closed = False
    assert closed, "the WebSocket whose path the new rules refuse stayed open"
    kept.sendall(b"still-here")
    assert read_exactly(kept, 10) == b"still-here"
    kept.close()
    cut.close()
