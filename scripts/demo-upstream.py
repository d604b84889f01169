#!/usr/bin/env python3
"""Demo upstream for m2m-proxy: answers every request with JSON describing what it received.

It shows the Authorization header as it arrived and, for a Bearer JWT, the decoded header and
claims (base64url-decoding of the first two segments; the signature is NOT checked: this is a
demo that makes the injected token visible, not a resource server).

    demo-upstream.py [--host 127.0.0.1] [--port 0] [--port-file FILE]

--port 0 (default) binds a free port; the port actually bound is printed on stdout
("listening on HOST:PORT") and written to --port-file when given. Python stdlib only.
"""
import argparse
import base64
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url_json(segment):
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    return json.loads(raw)


def describe_authorization(value):
    out = {"authorization": value, "scheme": None, "jwt": None}
    if value is None:
        return out
    scheme, _, cred = value.partition(" ")
    out["scheme"] = scheme
    if scheme.lower() != "bearer":
        return out
    parts = cred.strip().split(".")
    out["token_length"] = len(cred.strip())
    if len(parts) != 3:
        out["jwt_error"] = "not a JWT (want three dot-separated segments)"
        return out
    try:
        out["jwt"] = {"header": b64url_json(parts[0]), "claims": b64url_json(parts[1]),
                      "signature_checked": False}
    except (ValueError, UnicodeDecodeError) as e:
        out["jwt_error"] = f"undecodable JWT: {e}"
    # the raw token is a secret: show only its ends
    tok = cred.strip()
    out["authorization"] = f"{scheme} {tok[:12]}...{tok[-6:]}" if len(tok) > 24 else value
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "m2m-demo-upstream/1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        info = {
            "upstream": "m2m-proxy demo upstream",
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "body_bytes": len(body),
            "forwarded": {k: self.headers.get(k) for k in
                          ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Via")
                          if self.headers.get(k) is not None},
        }
        info.update(describe_authorization(self.headers.get("Authorization")))
        data = (json.dumps(info, indent=2, sort_keys=False) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, fmt, *args):
        sys.stderr.write("demo-upstream: %s %s\n" % (self.address_string(), fmt % args))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, a.port_file)   # readers never see a half-written file
    print(f"listening on {a.host}:{port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
