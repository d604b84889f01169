#!/usr/bin/env python3
"""Token endpoint DOUBLE for the docker-compose demo (not an OAuth server; for real
integration tests use scripts/real-idp-up.sh, for production an IdP such as Logto).

    token-double.py [--host 127.0.0.1] [--port 9000] --client-id ID --client-secret-file FILE
                    [--expires-in 3600]

POST (any path), form-encoded, grant_type=client_credentials, client authenticated with HTTP
Basic (id and secret form-encoded first, RFC 6749 2.3.1) or client_secret_post. Answers
{"access_token": <JWT-shaped token>, "token_type": "Bearer", "expires_in": N, "scope": ...}.
The token's claims are iss, sub = client_id = ID, aud = the requested `resource`, scope = the
requested scope, iat, exp, jti; its signature is NOT real (alg "none"-style demo token).
Wrong credentials: 401 {"error":"invalid_client"}; other grants: 400 unsupported_grant_type.
Python stdlib only.
"""
import argparse
import base64
import hmac
import json
import signal
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret-file", required=True)
    ap.add_argument("--expires-in", type=int, default=3600)
    a = ap.parse_args()
    with open(a.client_secret_file) as f:
        secret = f.read()
    if secret.endswith("\n"):
        secret = secret[:-1]   # one trailing newline is stripped, as m2m-proxy does for *_file

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, code, obj):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode()).items()}
            cid, csec = form.get("client_id"), form.get("client_secret")
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("basic "):
                try:
                    raw = base64.b64decode(auth[6:].strip()).decode()
                    u, _, p = raw.partition(":")
                    cid, csec = unquote_plus(u), unquote_plus(p)
                except ValueError:
                    cid = csec = None
            if cid != a.client_id or csec is None or not hmac.compare_digest(csec, secret):
                return self._send(401, {"error": "invalid_client",
                                        "error_description": "client authentication failed"})
            if form.get("grant_type") != "client_credentials":
                return self._send(400, {"error": "unsupported_grant_type"})
            now = int(time.time())
            claims = {"iss": f"http://{self.headers.get('Host', 'token-double')}/oidc",
                      "sub": cid, "client_id": cid, "iat": now, "exp": now + a.expires_in,
                      "jti": uuid.uuid4().hex}
            if form.get("resource"):
                claims["aud"] = form["resource"]
            if form.get("scope"):
                claims["scope"] = form["scope"]
            header = {"alg": "none", "typ": "at+jwt", "note": "demo double, not signed"}
            token = ".".join([b64url(json.dumps(header).encode()),
                              b64url(json.dumps(claims).encode()), b64url(b"unsigned")])
            answer = {"access_token": token, "token_type": "Bearer", "expires_in": a.expires_in}
            if "scope" in claims:
                answer["scope"] = claims["scope"]
            self._send(200, answer)

        def log_message(self, fmt, *args):   # never logs the form: it may hold the secret
            sys.stderr.write("token-double: %s\n" % (fmt % args))

    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"token-double listening on {a.host}:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
