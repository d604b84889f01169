#!/usr/bin/env python3
"""An upstream that accepts HTTP/1.1 Upgrade (WebSocket-style) and then echoes raw bytes.

    python3 upgrade_echo.py --port 0 --log FILE     prints PORT=<n> when ready

For every request it appends one JSON line to FILE: method, target, headers. A request with
`Upgrade:` gets `101 Switching Protocols` (Upgrade: <same>, Connection: Upgrade) and every byte
that follows on the connection, including bytes that arrived with the head, is echoed back
until the peer closes. A request without Upgrade gets `426 Upgrade Required` (Content-Length 0)
and the connection stays HTTP.
"""
import json, socket
import raw_server


def handle(conn, log, lock):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = [l.split(":", 1) for l in lines[1:]]
            headers = [[k, v.strip()] for k, v in headers]
            with lock, open(log, "a") as f:
                f.write(json.dumps({"method": method, "target": target, "headers": headers}) + "\n")
            upgrade = next((v for k, v in headers if k.lower() == "upgrade"), None)
            if upgrade is None:
                conn.sendall(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n")
                continue
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\nConnection: Upgrade\r\n\r\n" % upgrade).encode())
            if buf:
                conn.sendall(buf)
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                conn.sendall(chunk)
    except OSError:
        pass
    finally:
        conn.close()


if __name__ == "__main__":
    raw_server.serve(handle)
