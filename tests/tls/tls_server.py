"""TLS stand-in origin for tests/tls/tls_session_test.c, on 127.0.0.1 only.

Usage: tls_server.py CERT KEY SELF_CERT SELF_KEY READY_FILE
Listens on three ephemeral ports: "good" presents CERT (signed by the test CA), "self" presents
the self-signed SELF_CERT, "plain" answers in cleartext HTTP (an https route pointed at an http
port). Writes "GOOD_PORT SELF_PORT PLAIN_PORT" to READY_FILE once all listen, then serves until
killed. Paths (one request per connection, then the connection ends):
  /hello     short body, then close_notify (a clean TLS end)
  /big       1 MiB body (byte i is i % 251), then close_notify
  /truncate  Content-Length: 100000 but 5000 bytes, then TCP FIN without close_notify
  /upload    reads a Content-Length body slowly, answers "len=N sum=S" (S = byte sum mod 2^32)
"""

import os
import socket
import ssl
import sys
import threading
import time

BIG = bytes(i % 251 for i in range(1 << 20))


def context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1").split("\r\n"), rest


def reply(s, body, length=None):
    length = len(body) if length is None else length
    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % length
              + body)


def clean_close(s):
    try:
        s.unwrap()  # close_notify; waits for the client's, which tls_session_free sends
    except (OSError, ssl.SSLError):
        pass


def upload(s, lines, rest):
    length = next(int(l.split(":", 1)[1]) for l in lines if l.lower().startswith("content-length:"))
    time.sleep(0.3)  # let the client's small send buffer fill: its writes must block
    got, total = len(rest), sum(rest)
    while got < length:
        chunk = s.recv(65536)
        if not chunk:
            return
        got += len(chunk)
        total += sum(chunk)
    reply(s, b"len=%d sum=%d" % (got, total & 0xFFFFFFFF))
    clean_close(s)


def handle(raw, ctx):
    raw.settimeout(5)
    if ctx is None:
        with raw:
            raw.recv(4096)
            raw.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        return
    try:
        s = ctx.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError):
        raw.close()  # the client refused our certificate: expected in the failure cases
        return
    try:
        lines, rest = read_head(s)
        if lines is None:
            return
        path = lines[0].split(" ")[1]
        if path == "/hello":
            reply(s, b"hello through tls\n")
            clean_close(s)
        elif path == "/big":
            reply(s, BIG)
            clean_close(s)
        elif path == "/truncate":
            reply(s, b"x" * 5000, length=100000)
            s.shutdown(socket.SHUT_RDWR)  # drops the TLS layer first: FIN, no close_notify
        elif path == "/upload":
            upload(s, lines, rest)
    except (OSError, ssl.SSLError):
        pass
    finally:
        s.close()


def listen(ctx):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)

    def loop():
        while True:
            conn, _ = ls.accept()
            threading.Thread(target=handle, args=(conn, ctx), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return ls.getsockname()[1]


def main():
    cert, key, self_cert, self_key, ready = sys.argv[1:6]
    good = listen(context(cert, key))
    selfp = listen(context(self_cert, self_key))
    plain = listen(None)
    with open(ready + ".tmp", "w") as f:
        f.write("%d %d %d\n" % (good, selfp, plain))
    os.rename(ready + ".tmp", ready)
    threading.Event().wait()


if __name__ == "__main__":
    main()
