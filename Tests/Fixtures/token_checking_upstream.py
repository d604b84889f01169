#!/usr/bin/env python3
"""An upstream that checks the Bearer JWT it receives, like a real resource server would.

    python3 token_checking_upstream.py --port 0 --log FILE     prints PORT=<n> when ready

Every request: the `exp` claim of the Bearer JWT is checked against the clock. An expired or
missing token gets `401` with `WWW-Authenticate: Bearer error="invalid_token"`; an expired one
is counted (the token economy's hard rule: zero expired tokens delivered). Paths:
  ?reject_once=1 on any path: the first such request with a valid token is answered
                 401 invalid_token anyway (a revoked token); later ones normally
  /echo          200 with the request body
  anything else  200 {"ok":true}
  GET /_stats    {"requests":N,"expired":N,"missing":N,"rejected_once":bool}
One JSON line per request goes to FILE: path, token, status, body_len, body_sha256.
HTTP/1.1 keep-alive, Content-Length bodies only.
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
    reason = {200: "OK", 401: "Unauthorized"}.get(status, "X")
    head = "HTTP/1.1 %d %s\r\nContent-Length: %d\r\n%s\r\n" % (status, reason, len(body), extra)
    conn.sendall(head.encode() + body)


def handle(conn, log):
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
            headers = {}
            for l in lines[1:]:
                k, v = l.split(":", 1)
                headers[k.strip().lower()] = v.strip()
            n = int(headers.get("content-length", "0"))
            while len(buf) < n:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            body, buf = buf[:n], buf[n:]
            path = target.split("?")[0]
            if path == "/_stats":
                with lock:
                    respond(conn, 200, json.dumps(stats).encode())
                continue
            auth = headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else None
            c = claims(token) if token else None
            with lock:
                stats["requests"] += 1
                if c is None:
                    stats["missing"] += 1
                    status = 401
                elif c.get("exp", 0) <= time.time():
                    stats["expired"] += 1
                    status = 401
                elif "reject_once=1" in target and not stats["rejected_once"]:
                    stats["rejected_once"] = True
                    status = 401
                else:
                    status = 200
                with open(log, "a") as f:
                    f.write(json.dumps({"path": path, "token": token, "status": status,
                                        "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest()}) + "\n")
            if status == 401:
                respond(conn, 401, b'{"error":"invalid_token"}',
                        'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="token rejected"\r\n')
            elif path == "/echo":
                respond(conn, 200, body)
            else:
                respond(conn, 200, b'{"ok":true}')
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.port))
    s.listen(256)
    print("PORT=%d" % s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c, a.log), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
