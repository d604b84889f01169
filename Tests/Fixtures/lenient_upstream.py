#!/usr/bin/env python3
"""A deliberately lenient recording upstream, as gunicorn, puma and waitress are: it reads `_`
in a header name as `-`, ignores case and spaces or tabs around names, and takes any
Transfer-Encoding value that mentions "chunked" as chunked. Behind the proxy it must never see
two framings (Content-Length and Transfer-Encoding, or two of either): that is what a smuggling
attack through the proxy needs.

    python3 lenient_upstream.py --port 0 --log FILE     prints PORT=<n> when ready

Each request appends one JSON line to FILE: method, target, the raw head (latin-1), "framing"
(the names it would frame by, normalized) and the headers as it read them. Paths:
  /hold             no answer; when the peer closes, a line {"event": "peer_closed"} is logged
  /drip?gap_ms=N    200 chunked: "first", N ms of silence, "second"
  /slow?ms=N        200 after N ms
  anything else     200 {"ok": true}
"""
import json, socket, time
import raw_server
from urllib.parse import urlsplit, parse_qs


def lenient_name(raw):
    return raw.strip(" \t").lower().replace("_", "-")


def handle(conn, log, lock):
    def record(entry):
        with lock, open(log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    buf = b""

    def fill(n):
        """Reads until `buf` holds at least n bytes; False at end of stream."""
        nonlocal buf
        while len(buf) < n:
            more = conn.recv(65536)
            if not more:
                return False
            buf += more
        return True

    try:
        while True:
            while b"\r\n\r\n" not in buf:
                if not fill(len(buf) + 1):
                    return
            head, buf = buf.split(b"\r\n\r\n", 1)
            text = head.decode("latin-1")
            lines = text.split("\r\n")
            method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
            headers = []
            for line in lines[1:]:
                if line[:1] in (" ", "\t") and headers:  # obsolete line folding: continue the value
                    headers[-1][1] += " " + line.strip()
                    continue
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers.append([lenient_name(k), v.strip(" \t")])
            framing = [k for k, _ in headers if k in ("content-length", "transfer-encoding")]
            te = " ".join(v for k, v in headers if k == "transfer-encoding").lower()
            cl = next((v for k, v in headers if k == "content-length"), None)
            body = b""
            raw_lines = []  # chunk-size lines as received
            if "chunked" in te:
                while True:
                    while b"\r\n" not in buf:
                        if not fill(len(buf) + 1):
                            return
                    line, buf = buf.split(b"\r\n", 1)
                    raw_lines.append(line.decode("latin-1"))
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                    if not fill(size + 2):
                        return
                    body += buf[:size]
                    buf = buf[size + 2:]
                    if size == 0:
                        break
            elif cl is not None and cl.strip().isdigit():
                n = int(cl.strip())
                if not fill(n):
                    return
                body, buf = buf[:n], buf[n:]
            split = urlsplit(target)
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            record({"method": method, "target": target, "head": text, "framing": framing,
                    "headers": headers, "body": body.decode("latin-1"), "chunk_lines": raw_lines})
            # The last segment decides, so routes with a path prefix reach the same behaviours.
            path = "/" + split.path.rsplit("/", 1)[-1]
            if path == "/hold":
                conn.settimeout(60)
                try:
                    while conn.recv(65536):
                        pass
                except OSError:
                    pass
                record({"event": "peer_closed", "target": target})
                return
            if path == "/drip":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
                time.sleep(int(query.get("gap_ms", "1000")) / 1000.0)
                conn.sendall(b"6\r\nsecond\r\n0\r\n\r\n")
                continue
            if path == "/slow":
                time.sleep(int(query.get("ms", "1000")) / 1000.0)
            out = b'{"ok":true}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
    except OSError:
        pass
    finally:
        conn.close()


if __name__ == "__main__":
    raw_server.serve(handle)
