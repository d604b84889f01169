#!/usr/bin/env python3
"""Benchmark token endpoint: answers EVERY POST with the same bearer token.

    token-endpoint.py --port PORT --token-file FILE [--host 127.0.0.1] [--expires-in 3600]

Body: {"access_token": "<contents of FILE>", "token_type": "Bearer", "expires_in": 3600}.
No client authentication is checked: it exists so that m2m-proxy injects exactly the token
the benchmark upstream (nginx, UPSTREAM_MODE=auth) expects, without a real IdP in the loop.
Each issued token is logged on stderr, so the log shows how many the proxy fetched.
Python stdlib only.
"""
import argparse
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--expires-in", type=int, default=3600)
    a = ap.parse_args()
    token = open(a.token_file).read().strip()
    answer = json.dumps({"access_token": token, "token_type": "Bearer",
                         "expires_in": a.expires_in}).encode()
    issued = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            issued[0] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, fmt, *args):
            sys.stderr.write(f"token-endpoint: issued #{issued[0]}: {fmt % args}\n")
            sys.stderr.flush()

    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"token-endpoint listening on {a.host}:{a.port}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
