#!/usr/bin/env python3
"""Hold many idle keep-alive client connections open, for an RSS measurement.

    idle-conns.py --port P --conns N [--path /api/items] [--header 'Name: value' ...]

Opens N connections to 127.0.0.1:P, sends one GET on each and reads its whole response
(Content-Length framing), so that every connection has been through a full request and now sits
idle in keep-alive. Prints `READY <n>` on stdout when all N are idle, then holds them until
SIGTERM arrives. Exit 2 if a connection fails or a response is not 200.
Python stdlib only (used by Benchmarks/compare.sh).
"""
import argparse
import signal
import socket
import sys


def read_response(s):
    buf = bytearray()
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        data = s.recv(65536)
        if not data:
            raise ConnectionError("closed before the response head")
        buf += data
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    clen = 0
    for line in head[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            clen = int(v.strip())
    need = end + 4 + clen
    while len(buf) < need:
        data = s.recv(65536)
        if not data:
            raise ConnectionError("closed inside the response body")
        buf += data
    return status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--path", default="/api/items")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--batch", type=int, default=200, help="connections opened before reading answers")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    req = (f"GET {a.path} HTTP/1.1\r\nHost: 127.0.0.1:{a.port}\r\n"
           + "".join(h + "\r\n" for h in a.header) + "\r\n").encode("latin-1")
    held = []
    try:
        while len(held) < a.conns:
            batch = []
            for _ in range(min(a.batch, a.conns - len(held))):
                s = socket.create_connection(("127.0.0.1", a.port), timeout=30)
                s.sendall(req)
                batch.append(s)
            for s in batch:
                status = read_response(s)
                if status != 200:
                    print(f"idle-conns: HTTP {status} on connection {len(held) + 1}", file=sys.stderr)
                    return 2
                held.append(s)
    except OSError as e:
        print(f"idle-conns: failed after {len(held)} connections: {e}", file=sys.stderr)
        return 2
    print(f"READY {len(held)}", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
