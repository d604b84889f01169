#!/usr/bin/env python3
"""A recording HTTP/1.1 upstream for m2m-proxy's integration tests (stdlib only).

    python3 upstream.py --port 0 --log FILE

Binds 127.0.0.1, prints ``PORT=<n>`` on stdout once listening, and appends one JSON line per
request to FILE *before* answering it, so a test that has read the response can read the entry:

    {"method", "target", "path", "version", "headers": [[name, value], ...] (wire order),
     "body_len", "body_sha256", "remote_port", "conn_id", "conn_index"}

``remote_port`` is the client's source port (distinct values = distinct upstream connections);
``conn_index`` counts requests on one connection from 0.

Behaviour by path (query parameters in brackets):
    /echo                      200, the request body back (Content-Length)
    /bytes?n=N[&chunked=1][&close=1]
                               N bytes of pattern(i) = i % 251, as Content-Length, chunked, or
                               close-delimited (no length; the connection is closed after)
    /status/NNN                that status; 204 and 304 without a body, others a small JSON body
    /slow?ms=M                 wait M ms, then 200
    /hang                      read the request, never answer (until the client goes away)
    /reset                     close the socket without answering (RST; /reset?fin=1: FIN)
    /headers                   200, the request headers as JSON [[name, value], ...]
    /info                      103 Early Hints, then 200
    anything else              200 {"ok":true,"path":"..."}
Request bodies are read by Content-Length or chunked (decoded here). Keep-alive, pipelining
and HEAD are supported. Every response carries the header ``X-Upstream: fixture``.
"""
import argparse
import hashlib
import itertools
import json
import socket
import socketserver
import struct
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

LOG_LOCK = threading.Lock()
LOG_FILE = None
CONN_IDS = itertools.count(1)


class BadRequest(Exception):
    pass


def pattern(n):
    """The deterministic body of /bytes: byte i is i % 251."""
    block = bytes(i % 251 for i in range(251))
    reps = n // 251 + 1
    return (block * reps)[:n]


def log_request(entry):
    line = json.dumps(entry, separators=(",", ":")) + "\n"
    with LOG_LOCK:
        LOG_FILE.write(line)
        LOG_FILE.flush()


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.request.makefile("rb", buffering=65536)
        self.conn_id = next(CONN_IDS)
        self.remote_port = self.client_address[1]

    def send(self, data):
        self.request.sendall(data)

    def read_line(self):
        line = self.rfile.readline(65537)
        if not line:
            return None
        if not line.endswith(b"\n"):
            raise BadRequest("line too long")
        return line.rstrip(b"\r\n")

    def read_head(self):
        line = self.read_line()
        while line == b"":  # tolerate empty lines between requests (RFC 9112 §2.2)
            line = self.read_line()
        if line is None:
            return None
        parts = line.split(b" ")
        if len(parts) != 3:
            raise BadRequest("bad request line")
        headers = []
        while True:
            h = self.read_line()
            if h is None:
                raise BadRequest("eof in head")
            if h == b"":
                break
            name, sep, value = h.partition(b":")
            if not sep:
                raise BadRequest("bad header line")
            headers.append([name.decode("latin-1"), value.strip(b" \t").decode("latin-1")])
        return [p.decode("latin-1") for p in parts], headers

    def read_exact(self, n):
        data = self.rfile.read(n)
        if data is None or len(data) != n:
            raise BadRequest("eof in body")
        return data

    def read_chunked(self):
        out = bytearray()
        while True:
            line = self.read_line()
            if line is None:
                raise BadRequest("eof in chunk size")
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers
                    t = self.read_line()
                    if t is None or t == b"":
                        return bytes(out)
            out += self.read_exact(size)
            if self.read_line() != b"":
                raise BadRequest("bad chunk end")

    def handle(self):
        index = 0
        try:
            while True:
                head = self.read_head()
                if head is None:
                    return
                (method, target, version), headers = head
                if not self.serve_one(method, target, version, headers, index):
                    return
                index += 1
        except (BadRequest, ValueError) as e:
            try:
                self.respond(400, [("Content-Type", "text/plain")], str(e).encode(), False, "HTTP/1.1", close=True)
            except OSError:
                pass
        except OSError:
            pass

    def serve_one(self, method, target, version, headers, index):
        lower = [(n.lower(), v) for n, v in headers]

        def get(name):
            for n, v in lower:
                if n == name:
                    return v
            return None

        conn_tokens = [t.strip().lower() for n, v in lower if n == "connection" for t in v.split(",")]
        keep_alive = ("close" not in conn_tokens) if version == "HTTP/1.1" else ("keep-alive" in conn_tokens)

        if (get("expect") or "").lower() == "100-continue":
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")

        te = get("transfer-encoding")
        if te is not None and "chunked" in te.lower():
            body = self.read_chunked()
        elif get("content-length") is not None:
            body = self.read_exact(int(get("content-length")))
        else:
            body = b""

        split = urlsplit(target)
        path = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        log_request({
            "method": method, "target": target, "path": path, "version": version,
            "headers": headers, "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "remote_port": self.remote_port, "conn_id": self.conn_id, "conn_index": index,
        })
        head_only = method == "HEAD"
        json_type = [("Content-Type", "application/json")]

        if path == "/echo":
            return self.respond(200, [("Content-Type", "application/octet-stream")], body, head_only, version, keep_alive)
        if path == "/bytes":
            n = int(query.get("n", "0"))
            data = pattern(n)
            hdrs = [("Content-Type", "application/octet-stream")]
            if query.get("close") == "1":
                return self.respond(200, hdrs, data, head_only, version, False, framing="close")
            if query.get("chunked") == "1":
                return self.respond(200, hdrs, data, head_only, version, keep_alive, framing="chunked")
            return self.respond(200, hdrs, data, head_only, version, keep_alive)
        if path.startswith("/status/"):
            code = int(path[len("/status/"):])
            if code in (204, 304):
                return self.respond(code, [], b"", True, version, keep_alive, framing="none")
            return self.respond(code, json_type, json.dumps({"status": code}).encode(), head_only, version, keep_alive)
        if path == "/slow":
            time.sleep(int(query.get("ms", "1000")) / 1000.0)
            return self.respond(200, json_type, b'{"ok":true,"slow":true}', head_only, version, keep_alive)
        if path == "/hang":
            try:
                while self.request.recv(65536):
                    pass
            except OSError:
                pass
            return False
        if path == "/reset":
            if query.get("fin") != "1":
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if path == "/headers":
            return self.respond(200, json_type, json.dumps(headers).encode(), head_only, version, keep_alive)
        if path == "/info":
            self.send(b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n")
            return self.respond(200, json_type, b'{"ok":true,"info":true}', head_only, version, keep_alive)
        body_out = json.dumps({"ok": True, "path": path}, separators=(",", ":")).encode()
        return self.respond(200, json_type, body_out, head_only, version, keep_alive)

    def respond(self, code, headers, body, head_only, req_version, keep_alive, framing="length", close=False):
        """Writes one response; returns whether the connection stays open."""
        keep = keep_alive and not close and framing != "close"
        reason = {100: "Continue", 103: "Early Hints", 200: "OK", 204: "No Content", 304: "Not Modified",
                  400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error",
                  502: "Bad Gateway", 503: "Service Unavailable"}.get(code, "Status")
        lines = ["HTTP/1.1 %d %s" % (code, reason), "X-Upstream: fixture"]
        lines += ["%s: %s" % h for h in headers]
        if framing == "length":
            lines.append("Content-Length: %d" % len(body))
        elif framing == "chunked":
            lines.append("Transfer-Encoding: chunked")
        if not keep:
            lines.append("Connection: close")
        elif req_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        out = [("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")]
        if not head_only:
            if framing == "chunked":
                step = 7919  # odd chunk sizes exercise the proxy's chunk handling
                for i in range(0, len(body), step):
                    part = body[i:i + step]
                    out.append(b"%x\r\n" % len(part) + part + b"\r\n")
                out.append(b"0\r\n\r\n")
            elif framing in ("length", "close"):
                out.append(body)
        self.send(b"".join(out))
        if not keep:
            try:
                self.request.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        return keep


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def main():
    global LOG_FILE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    LOG_FILE = open(args.log, "a", encoding="utf-8")
    server = Server(("127.0.0.1", args.port), Handler)
    print("PORT=%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
