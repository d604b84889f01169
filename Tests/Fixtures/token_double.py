#!/usr/bin/env python3
"""An OAuth 2.0 token endpoint double for m2m-proxy's integration tests (stdlib only).

    python3 token_double.py --port 0 --log FILE [--mode JSON]

Binds 127.0.0.1 and prints ``PORT=<n>`` on stdout once listening. With
``--tls-cert CERT --tls-key KEY`` it also serves the same endpoints over HTTPS on a second port,
printed as ``TLS_PORT=<n>`` (before ``PORT``); the plain port stays for /_mode and /_stats.

POST /oidc/token   records the raw request as one JSON line in FILE (before answering):
                   {"method","path","version","headers":[[name,value],...],"body_latin1",
                    "body_b64","n","issued_token","t"} and answers per the current mode
                   ("t": when it was taken, Unix seconds with a fraction).
GET  /_stats       {"token_requests": N}
POST /_mode        JSON body; replaces the mode (missing keys take the defaults):
    {"status": 200, "ttl": 3600, "token_type": "Bearer", "delay_ms": 0,
     "body": null | "raw string sent verbatim", "retry_after": null | "5",
     "error": "invalid_client", "omit_expires_in": false, "drop": false}
    status 200 and body null -> a JWT-shaped token; other status -> {"error": <error>};
    body set -> that text with the status; retry_after -> a Retry-After header;
    drop -> close the connection without answering.

Tokens are header.payload.signature (base64url). The payload holds iss, aud (the resource
parameter, if any), sub and client_id (the authenticated client id), iat, exp = now + ttl,
scope (as requested) and jti = the request counter, so every token is distinct.
"""
import argparse
import ssl
import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus

DEFAULT_MODE = {"status": 200, "ttl": 3600, "token_type": "Bearer", "delay_ms": 0, "body": None,
                "retry_after": None, "error": "invalid_client", "omit_expires_in": False, "drop": False}

STATE_LOCK = threading.Lock()
STATE = {"mode": dict(DEFAULT_MODE), "count": 0}
LOG_FILE = None


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_token(n, client_id, params, ttl):
    now = int(time.time())
    header = {"alg": "RS256", "typ": "at+jwt", "kid": "double"}
    payload = {"iss": "token-double", "sub": client_id, "client_id": client_id,
               "iat": now, "exp": now + ttl, "jti": "tok-%d" % n}
    if "resource" in params:
        payload["aud"] = params["resource"]
    if "scope" in params:
        payload["scope"] = params["scope"]
    sig = ("double-signature-%d" % n).encode()
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), b64url(sig)])


def client_id_of(headers, params):
    auth = headers.get("Authorization") or ""
    if auth.lower().startswith("basic "):
        try:
            raw = base64.b64decode(auth[6:].strip()).decode("latin-1")
            return unquote_plus(raw.partition(":")[0])
        except ValueError:
            return ""
    return params.get("client_id", "")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def read_body(self):
        te = self.headers.get("Transfer-Encoding")
        if te and "chunked" in te.lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, status, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_stats":
            with STATE_LOCK:
                n = STATE["count"]
            return self.answer(200, json.dumps({"token_requests": n}).encode())
        self.answer(404, b'{"error":"not_found"}')

    def do_POST(self):
        body = self.read_body()
        if self.path == "/_mode":
            mode = dict(DEFAULT_MODE)
            mode.update(json.loads(body or b"{}"))
            with STATE_LOCK:
                STATE["mode"] = mode
            return self.answer(200, json.dumps(mode).encode())
        if self.path.rstrip("/") != "/oidc/token":
            return self.answer(404, b'{"error":"not_found"}')
        with STATE_LOCK:
            STATE["count"] += 1
            n = STATE["count"]
            mode = dict(STATE["mode"])
        params = {k: v[-1] for k, v in parse_qs(body.decode("latin-1"), keep_blank_values=True).items()}
        token = None
        if mode["status"] == 200 and mode["body"] is None and not mode["drop"]:
            token = make_token(n, client_id_of(self.headers, params), params, int(mode["ttl"]))
        entry = {"method": self.command, "path": self.path, "version": self.request_version,
                 "headers": [[k, v] for k, v in self.headers.items()],
                 "body_latin1": body.decode("latin-1"), "body_b64": base64.b64encode(body).decode(),
                 "n": n, "issued_token": token, "t": time.time()}
        with STATE_LOCK:
            LOG_FILE.write(json.dumps(entry) + "\n")
            LOG_FILE.flush()
        if mode["delay_ms"]:
            time.sleep(mode["delay_ms"] / 1000.0)
        if mode["drop"]:
            self.close_connection = True
            return
        extra = [("Retry-After", str(mode["retry_after"]))] if mode["retry_after"] is not None else []
        if mode["body"] is not None:
            return self.answer(int(mode["status"]), mode["body"].encode("latin-1"), extra)
        if mode["status"] != 200:
            return self.answer(int(mode["status"]), json.dumps({"error": mode["error"]}).encode(), extra)
        answer = {"access_token": token, "token_type": mode["token_type"]}
        if not mode["omit_expires_in"]:
            answer["expires_in"] = int(mode["ttl"])
        if "scope" in params:
            answer["scope"] = params["scope"]
        self.answer(200, json.dumps(answer).encode(), extra)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


def main():
    global LOG_FILE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", default=None, help="initial mode as JSON (same keys as POST /_mode)")
    ap.add_argument("--tls-cert", help="also serve HTTPS with this certificate chain (PEM)")
    ap.add_argument("--tls-key", help="the key of --tls-cert (PEM)")
    args = ap.parse_args()
    LOG_FILE = open(args.log, "a", encoding="utf-8")
    if args.mode:
        STATE["mode"].update(json.loads(args.mode))
    server = Server(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        tls_server = Server(("127.0.0.1", 0), Handler)
        # Handshakes run in the handler threads, so one failing client blocks nobody.
        tls_server.socket = ctx.wrap_socket(tls_server.socket, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=tls_server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        print("TLS_PORT=%d" % tls_server.server_address[1], flush=True)
    print("PORT=%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
