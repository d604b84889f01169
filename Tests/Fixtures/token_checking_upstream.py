#!/usr/bin/env python3
"""An upstream that checks the Bearer JWT it receives, like a real resource server would.

    python3 token_checking_upstream.py --port 0 --log FILE     prints PORT=<n> when ready
    python3 token_checking_upstream.py --port 0 [--log FILE] [--events FILE]

Every request: the `exp` claim of the Bearer JWT is checked against the clock. An expired or
missing token gets `401` with `WWW-Authenticate: Bearer error="invalid_token"`; an expired one
is counted (the token economy's hard rule: zero expired tokens delivered). Paths:
  ?reject_once=1 on any path: the first such request with a valid token is answered
                 401 invalid_token anyway (a revoked token); later ones normally
  /echo          200 with the request body
  /bytes?n=N[&chunked=1]
                 N bytes of pattern(i) = i % 251 (Content-Length, or chunked), streamed
  /slow?ms=M     wait M ms, then 200 {"ok":true}
  /status/NNN    that status with a small JSON body
  anything else  200 {"ok":true}
  GET /_stats    {"requests":N,"expired":N,"missing":N,"rejected_once":bool}
One JSON line per request goes to --log FILE (if given): path, token, status, body_len,
body_sha256. One JSON line per expired or missing token goes to --events FILE (if given):
{"t","kind","path","exp","jti"}; the file is appended to, so counts survive a restart of this
process (Benchmarks/soak.sh restarts it on the same port).
HTTP/1.1 keep-alive (closed after `Connection: close` or an HTTP/1.0 request without
keep-alive), request bodies by Content-Length or chunked.
"""
import argparse, base64, hashlib, json, socket, sys, threading, time

lock = threading.Lock()
stats = {"requests": 0, "expired": 0, "missing": 0, "rejected_once": False}


def claims(token):
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload))
    except Exception:
        return None


def respond(conn, status, body=b"", extra=""):
    reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}.get(status, "X")
    head = "HTTP/1.1 %d %s\r\nContent-Length: %d\r\n%s\r\n" % (status, reason, len(body), extra)
    conn.sendall(head.encode() + body)


PATTERN = bytes(i % 251 for i in range(251)) * 300  # 75,300 bytes: a multiple of 251


def send_pattern(conn, n, chunked, extra):
    """N bytes of i % 251, streamed in pieces (never held whole)."""
    framing = "Transfer-Encoding: chunked" if chunked else "Content-Length: %d" % n
    conn.sendall(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n%s\r\n%s\r\n"
                  % (framing, extra)).encode())
    sent = 0
    while sent < n:
        k = min(len(PATTERN) - 251, n - sent)  # the piece starts at offset sent % 251 of the pattern
        start = sent % 251
        piece = PATTERN[start:start + k]
        conn.sendall(b"%x\r\n" % k + piece + b"\r\n" if chunked else piece)
        sent += k
    if chunked:
        conn.sendall(b"0\r\n\r\n")


class Reader:
    """Buffered reads from a socket; None at EOF."""

    def __init__(self, conn):
        self.conn, self.buf = conn, b""

    def fill(self):
        chunk = self.conn.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def until(self, sep):
        while sep not in self.buf:
            if not self.fill():
                return None
        out, self.buf = self.buf.split(sep, 1)
        return out

    def exact(self, n):
        while len(self.buf) < n:
            if not self.fill():
                return None
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def chunked(self):
        out = []
        while True:
            line = self.until(b"\r\n")
            if line is None:
                return None
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers up to the empty line
                    t = self.until(b"\r\n")
                    if t is None or t == b"":
                        return b"".join(out)
            data = self.exact(size)
            if data is None or self.exact(2) is None:
                return None
            out.append(data)


def record_event(events, kind, path, c):
    if not events:
        return
    with open(events, "a") as f:
        f.write(json.dumps({"t": time.time(), "kind": kind, "path": path,
                            "exp": (c or {}).get("exp"), "jti": (c or {}).get("jti")}) + "\n")


def handle(conn, log, events=None):
    r = Reader(conn)
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            head = r.until(b"\r\n\r\n")
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            while lines and lines[0] == "":  # empty lines between requests
                lines.pop(0)
            method, target, version = lines[0].split(" ", 2)
            headers = {}
            for l in lines[1:]:
                k, v = l.split(":", 1)
                headers[k.strip().lower()] = v.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                body = r.chunked()
            else:
                body = r.exact(int(headers.get("content-length", "0")))
            if body is None:
                return
            conn_tokens = [t.strip().lower() for t in headers.get("connection", "").split(",")]
            close = "close" in conn_tokens or (version == "HTTP/1.0" and "keep-alive" not in conn_tokens)
            extra_close = "Connection: close\r\n" if close else ""
            path = target.split("?")[0]
            query = dict(p.partition("=")[::2] for p in target.partition("?")[2].split("&") if p)
            if path == "/_stats":
                with lock:
                    respond(conn, 200, json.dumps(stats).encode(), extra_close)
                if close:
                    return
                continue
            auth = headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else None
            c = claims(token) if token else None
            with lock:
                stats["requests"] += 1
                if c is None:
                    stats["missing"] += 1
                    status = 401
                    record_event(events, "missing", path, c)
                elif c.get("exp", 0) <= time.time():
                    stats["expired"] += 1
                    status = 401
                    record_event(events, "expired", path, c)
                elif "reject_once=1" in target and not stats["rejected_once"]:
                    stats["rejected_once"] = True
                    status = 401
                else:
                    status = 200
                if log:
                    with open(log, "a") as f:
                        f.write(json.dumps({"path": path, "token": token, "status": status,
                                            "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest()}) + "\n")
            if status == 401:
                respond(conn, 401, b'{"error":"invalid_token"}',
                        'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="token rejected"\r\n' + extra_close)
            elif path == "/echo":
                respond(conn, 200, body, extra_close)
            elif path == "/bytes":
                send_pattern(conn, int(query.get("n", "0")), query.get("chunked") == "1", extra_close)
            elif path == "/slow":
                time.sleep(int(query.get("ms", "1000")) / 1000.0)
                respond(conn, 200, b'{"ok":true}', extra_close)
            elif path.startswith("/status/"):
                code = int(path[len("/status/"):])
                respond(conn, code, json.dumps({"status": code}).encode(), extra_close)
            else:
                respond(conn, 200, b'{"ok":true}', extra_close)
            if close:
                conn.shutdown(socket.SHUT_WR)
                return
    except (OSError, ValueError):
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", help="one JSON line per request (with the token)")
    ap.add_argument("--events", help="one JSON line per expired or missing token")
    a = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.port))
    s.listen(256)
    print("PORT=%d" % s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c, a.log, a.events), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
