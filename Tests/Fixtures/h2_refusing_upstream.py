#!/usr/bin/env python3
"""An HTTP/2 (h2c) upstream that refuses the first stream it sees and answers all others (stdlib only).

    python3 h2_refusing_upstream.py --port 0 --log FILE [--goaway] [--always]     prints PORT=<n> when ready

The first connection's first stream is refused, by RST_STREAM(REFUSED_STREAM) or, with
--goaway, by GOAWAY(last-stream-id 0, NO_ERROR): either way RFC 9113 §8.7 says the request was
not processed. With --always, every connection's first stream is refused (so a request retried
once on a new connection is refused twice). Every other stream gets `:status 200` and the body `conn=<n> body=<bytes>` once
its request ended (n: the connection's number from 1; bytes: the request body's length).
Appends {"event": "connection", "conn": n} per connection, and {"event": "refused"} or
{"event": "request", "conn": n, "stream": id, "body": bytes} per stream, to FILE.
"""
import sys, threading
import raw_server
from raw_server import log, read_exact

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
GOAWAY = "--goaway" in sys.argv
if GOAWAY:
    sys.argv.remove("--goaway")
ALWAYS = "--always" in sys.argv
if ALWAYS:
    sys.argv.remove("--always")
counter = {"n": 0}
counter_lock = threading.Lock()


def frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def answer(conn, n, stream, body_len):
    body = ("conn=%d body=%d" % (n, body_len)).encode()
    # HPACK: 0x88 is the static table's ":status: 200". END_HEADERS, then DATA with END_STREAM.
    conn.sendall(frame(0x1, 0x4, stream, b"\x88") + frame(0x0, 0x1, stream, body))


def handle(conn, log_path, lock):
    with counter_lock:
        counter["n"] += 1
        n = counter["n"]
    log(log_path, lock, {"event": "connection", "conn": n})
    if read_exact(conn, len(PREFACE)) != PREFACE:
        conn.close()
        return
    conn.sendall(frame(0x4, 0, 0))  # our (empty) SETTINGS
    bodies = {}  # open streams: request body bytes so far
    refused = n != 1 and not ALWAYS
    while True:
        head = read_exact(conn, 9)
        if head is None:
            break
        length, kind, flags = int.from_bytes(head[0:3], "big"), head[3], head[4]
        stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
        payload = read_exact(conn, length) if length else b""
        if payload is None:
            break
        if kind == 0x4 and not flags & 0x1:
            conn.sendall(frame(0x4, 0x1, 0))  # SETTINGS ACK
        elif kind == 0x6 and not flags & 0x1:
            conn.sendall(frame(0x6, 0x1, 0, payload))  # PING ACK
        elif kind == 0x1:
            if not refused:
                refused = True
                log(log_path, lock, {"event": "refused", "conn": n, "stream": stream})
                if GOAWAY:
                    conn.sendall(frame(0x7, 0, 0, (0).to_bytes(4, "big") + (0).to_bytes(4, "big")))
                else:
                    conn.sendall(frame(0x3, 0, stream, (7).to_bytes(4, "big")))
                continue
            bodies[stream] = 0
            if flags & 0x1:
                log(log_path, lock, {"event": "request", "conn": n, "stream": stream, "body": 0})
                answer(conn, n, stream, 0)
                del bodies[stream]
        elif kind == 0x0 and stream in bodies:
            data = len(payload)
            if flags & 0x8:  # PADDED: pad length byte and the padding are not data
                data -= 1 + payload[0]
            bodies[stream] += data
            if flags & 0x1:
                log(log_path, lock, {"event": "request", "conn": n, "stream": stream, "body": bodies[stream]})
                answer(conn, n, stream, bodies.pop(stream))
    conn.close()


if __name__ == "__main__":
    raw_server.serve(handle)
