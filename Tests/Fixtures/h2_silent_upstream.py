#!/usr/bin/env python3
"""An HTTP/2 (h2c) upstream that agrees to the connection and never answers a stream (stdlib only).

    python3 h2_silent_upstream.py --port 0 --log FILE     prints PORT=<n> when ready

Reads the client's preface, answers with its own empty SETTINGS frame and a SETTINGS ACK, then
only reads: streams stay open without a response head, so the proxy's response deadline (the
route's `response_timeout_ms` or a client's shorter `grpc-timeout`) is what ends them. Appends
{"event": "connection"} and, per HEADERS frame, {"event": "headers"} to FILE. (A grpcio server
would enforce the client's grpc-timeout itself and race the proxy's answer.)
"""
import raw_server
from raw_server import log, read_exact

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def handle(conn, log_path, lock):
    log(log_path, lock, {"event": "connection"})
    if read_exact(conn, len(PREFACE)) != PREFACE:
        conn.close()
        return
    # SETTINGS (empty), then the ACK of the client's SETTINGS, which the preface was followed by.
    conn.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")
    while True:
        head = read_exact(conn, 9)
        if head is None:
            break
        length = int.from_bytes(head[0:3], "big")
        if length and read_exact(conn, length) is None:
            break
        if head[3] == 0x1:
            log(log_path, lock, {"event": "headers"})
    conn.close()


if __name__ == "__main__":
    raw_server.serve(handle)
