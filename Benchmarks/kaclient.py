#!/usr/bin/env python3
"""Deterministic keep-alive HTTP/1.1 load for instruction and syscall counting.

Copied from the team's shared harness (bench/kaclient.py) so that Benchmarks/ does not depend on
files outside the repository; used by compare.sh's strace and callgrind phases.

Opens --conns persistent connections to 127.0.0.1:--port, then sends exactly
--requests GET requests in total, one outstanding per connection (no
pipelining), split as evenly as possible over the connections, and checks that
every response is `HTTP/1.1 200` with the expected body length. With
--requests 0 it still opens and closes the same connections, so that
(run with N) - (run with 0) is the cost of N requests and nothing else.

The request bytes are the ones wrk sends by default (plus optional headers):
    GET /api/items HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\n\r\n
"""
import argparse
import selectors
import socket
import sys
import time


class Conn:
    __slots__ = ("sock", "left", "buf", "need", "done", "status")

    def __init__(self, sock, left):
        self.sock, self.left, self.buf = sock, left, bytearray()
        self.need = None   # total bytes of the current response once its head is parsed
        self.done = 0
        self.status = None


def parse_head(buf):
    """-> (status, total_len) or None if the head is incomplete. Needs Content-Length or chunked."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    clen, chunked = None, False
    for line in head[1:]:
        k, _, v = line.partition(":")
        k = k.strip().lower()
        if k == "content-length":
            clen = int(v.strip())
        elif k == "transfer-encoding" and "chunked" in v.lower():
            chunked = True
    if chunked:
        # walk the chunks; return None until the terminating chunk is in the buffer
        pos = end + 4
        while True:
            nl = buf.find(b"\r\n", pos)
            if nl < 0:
                return None
            size = int(bytes(buf[pos:nl]).split(b";")[0], 16)
            pos = nl + 2 + size + 2
            if size == 0:
                # no trailers expected
                return (status, pos) if len(buf) >= pos else None
            if len(buf) < pos:
                return None
    if clen is None:
        raise SystemExit("response without Content-Length or chunked encoding: " + head[0])
    return status, end + 4 + clen


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--path", default="/api/items")
    ap.add_argument("--header", action="append", default=[], help="extra request header line")
    ap.add_argument("--timeout", type=float, default=120.0, help="per-response timeout, seconds")
    a = ap.parse_args()

    req = (f"GET {a.path} HTTP/1.1\r\nHost: 127.0.0.1:{a.port}\r\n"
           + "".join(h + "\r\n" for h in a.header) + "\r\n").encode("latin-1")
    sel = selectors.DefaultSelector()
    conns = []
    per, extra = divmod(a.requests, a.conns)
    for i in range(a.conns):
        s = socket.create_connection(("127.0.0.1", a.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = Conn(s, per + (1 if i < extra else 0))
        conns.append(c)
    t0 = time.monotonic()
    active = 0
    for c in conns:
        if c.left:
            c.sock.sendall(req)
            sel.register(c.sock, selectors.EVENT_READ, c)
            active += 1
    bad = 0
    while active:
        events = sel.select(timeout=a.timeout)
        if not events:
            print(f"kaclient: timeout after {a.timeout}s", file=sys.stderr)
            return 3
        for key, _ in events:
            c = key.data
            data = c.sock.recv(65536)
            if not data:
                print("kaclient: server closed a keep-alive connection", file=sys.stderr)
                return 3
            c.buf += data
            while True:
                h = parse_head(c.buf)
                if h is None or len(c.buf) < h[1]:
                    break
                status, total = h
                if status != 200:
                    bad += 1
                del c.buf[:total]
                c.done += 1
                c.left -= 1
                if c.left:
                    c.sock.sendall(req)
                else:
                    sel.unregister(c.sock)
                    active -= 1
                    break
    dt = time.monotonic() - t0
    for c in conns:
        c.sock.close()
    done = sum(c.done for c in conns)
    print(f"kaclient: {done} responses over {a.conns} connections in {dt:.2f}s, non-200: {bad}")
    return 0 if bad == 0 and done == a.requests else 2


if __name__ == "__main__":
    sys.exit(main())
