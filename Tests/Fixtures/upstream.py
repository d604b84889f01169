#!/usr/bin/env python3
"""A recording HTTP/1.1 upstream for m2m-proxy's integration tests (stdlib only).

    python3 upstream.py --port 0 --log FILE
    python3 upstream.py --pattern-sha256 N     (prints the SHA-256 of pattern(N), for large bodies)
    python3 upstream.py ... --tls-cert CERT --tls-key KEY [--tls-client-ca CA]
                                               (HTTPS; with --tls-client-ca a client certificate
                                               signed by CA is required)
    python3 upstream.py ... --handshake-delay-ms N
                                               every connection but the first waits N ms before
                                               its TLS handshake (a slow connect, to show what a
                                               proxy does while one is pending)

With TLS every log entry also has ``"tls": {"resumed": bool, "version", "alpn",
"client_cn", "sni"}`` (sni: the server name the client sent, null for none): distinct ``conn_id`` values are the TLS connections accepted, ``resumed`` says
whether the handshake resumed a session. Failed handshakes are logged as one line
``{"tls_handshake_failed": "<reason>"}``.

Binds 127.0.0.1 (or ``--host ADDR``, IPv4 or IPv6), prints ``PORT=<n>`` on stdout once listening, and appends one JSON line per
request to FILE *before* answering it, so a test that has read the response can read the entry:

    {"method", "target", "path", "version", "headers": [[name, value], ...] (wire order),
     "body_len", "body_sha256", "remote_port", "conn_id", "conn_index"}

A chunked request's entry also has ``"trailers": [[name, value], ...]``.
``remote_port`` is the client's source port (distinct values = distinct upstream connections);
``conn_index`` counts requests on one connection from 0.

Behaviour by path (query parameters in brackets):
    /echo                      200, the request body back (Content-Length)
    /bytes?n=N[&chunked=1][&close=1]
                               N bytes of pattern(i) = i % 251, as Content-Length, chunked, or
                               close-delimited (no length; the connection is closed after);
                               streamed in pieces, so N may be hundreds of MB
    /truncate?n=N&send=M[&chunked=1]
                               Content-Length: N (or chunked: one chunk of size N) but only the
                               first M pattern bytes, then FIN
    /close-next                200, and the NEXT request on this connection is read (body too),
                               logged with "dropped": true, and the socket closed (FIN) without
                               any response byte: a keep-alive connection the server gave up on
    /slowread?chunk=C&ms=M&slow_ms=S
                               reads a Content-Length body C bytes at a time with an M ms pause
                               after each, for the first S ms, then at full speed; hashes it on
                               the fly (never holds it) and answers {"len", "sha256"}
    /status/NNN                that status; 204 and 304 without a body, others a small JSON body
    /slow?ms=M                 wait M ms, then 200 {"ok":true,"slow":true,"target":"<target>"}
    /hang                      read the request, never answer (until the client goes away)
    /reset                     close the socket without answering (RST; /reset?fin=1: FIN)
    /headers                   200, the request headers as JSON [[name, value], ...]
    /info                      103 Early Hints, then 200
    /trailers                  200 chunked ``hello world`` in two chunks, then the trailers
                               ``X-Checksum: 5eb63bbbe0`` and ``Grpc-Status: 0``; its head has
                               ``Trailer``, ``Connection: x-drop-me`` and ``X-Drop-Me: 1``
    /conn-cl                   200 with ``Connection: content-length`` and ``Content-Length: 5``,
                               body ``hello`` (a Connection header naming a framing header)
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
import ssl
import struct
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

LOG_LOCK = threading.Lock()
LOG_FILE = None
TLS_CONTEXT = None
HANDSHAKE_DELAY_MS = 0
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
        self.close_next = False
        self.tls = None
        self.tls_failed = False
        if TLS_CONTEXT is not None:
            if HANDSHAKE_DELAY_MS and self.conn_id > 1:
                time.sleep(HANDSHAKE_DELAY_MS / 1000.0)
            try:
                self.request = TLS_CONTEXT.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                self.tls_failed = True
                log_request({"tls_handshake_failed": str(e)})
                return
            cert = self.request.getpeercert()
            cn = None
            for rdn in (cert or {}).get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
            self.tls = {"resumed": self.request.session_reused, "version": self.request.version(),
                        "alpn": self.request.selected_alpn_protocol(), "client_cn": cn,
                        "sni": getattr(self.request, "sni_name", None)}
            self.rfile = self.request.makefile("rb", buffering=65536)

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
                while True:  # trailers, logged as "trailers"
                    t = self.read_line()
                    if t is None or t == b"":
                        return bytes(out)
                    name, _, value = t.decode("latin-1").partition(":")
                    self.trailers.append([name, value.strip()])
            out += self.read_exact(size)
            if self.read_line() != b"":
                raise BadRequest("bad chunk end")

    def read_slowly(self, length, chunk, pause_ms, slow_ms):
        """Reads `length` body bytes, pausing after each `chunk` during the first `slow_ms`."""
        digest = hashlib.sha256()
        got = 0
        slow_until = time.monotonic() + slow_ms / 1000.0
        while got < length:
            slow = time.monotonic() < slow_until
            want = min(chunk if slow else 1 << 20, length - got)
            data = self.rfile.read1(want) if not slow else self.rfile.read(want)
            if not data:
                break
            digest.update(data)
            got += len(data)
            if slow:
                time.sleep(pause_ms / 1000.0)
        return digest.hexdigest(), got

    def handle(self):
        if self.tls_failed:
            return
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

        split = urlsplit(target)
        path = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        te = get("transfer-encoding")
        chunked = te is not None and "chunked" in te.lower()
        json_type = [("Content-Type", "application/json")]

        def log(body_len, body_sha256, **extra):
            entry = {
                "method": method, "target": target, "path": path, "version": version,
                "headers": headers, "body_len": body_len, "body_sha256": body_sha256,
                "remote_port": self.remote_port, "conn_id": self.conn_id, "conn_index": index,
            }
            if self.tls is not None:
                entry["tls"] = self.tls
            if chunked:
                entry["trailers"] = self.trailers
            entry.update(extra)
            log_request(entry)

        if path == "/slowread" and not chunked and not self.close_next:
            length = int(get("content-length") or "0")
            digest, got = self.read_slowly(length, int(query.get("chunk", "65536")),
                                           int(query.get("ms", "20")), int(query.get("slow_ms", "2000")))
            log(got, digest)
            out = json.dumps({"len": got, "sha256": digest}).encode()
            return self.respond(200, json_type, out, method == "HEAD", version, keep_alive)

        self.trailers = []
        if chunked:
            body = self.read_chunked()
        elif get("content-length") is not None:
            body = self.read_exact(int(get("content-length")))
        else:
            body = b""

        if self.close_next:
            log(len(body), hashlib.sha256(body).hexdigest(), dropped=True)
            return False  # handle() returns; the server closes the socket (FIN), nothing answered
        log(len(body), hashlib.sha256(body).hexdigest())
        head_only = method == "HEAD"

        if path == "/echo":
            return self.respond(200, [("Content-Type", "application/octet-stream")], body, head_only, version, keep_alive)
        if path == "/bytes":
            n = int(query.get("n", "0"))
            hdrs = [("Content-Type", "application/octet-stream")]
            if query.get("close") == "1":
                return self.respond(200, hdrs, PatternBody(n), head_only, version, False, framing="close")
            if query.get("chunked") == "1":
                return self.respond(200, hdrs, PatternBody(n), head_only, version, keep_alive, framing="chunked")
            return self.respond(200, hdrs, PatternBody(n), head_only, version, keep_alive)
        if path == "/truncate":
            n, sent = int(query.get("n", "1000")), int(query.get("send", "100"))
            head = "HTTP/1.1 200 OK\r\nX-Upstream: fixture\r\nContent-Type: application/octet-stream\r\n"
            if query.get("chunked") == "1":  # one chunk of n announced, `send` bytes of it sent
                data = (head + "Transfer-Encoding: chunked\r\n\r\n%x\r\n" % n).encode("latin-1") + pattern(sent)
            else:
                data = (head + "Content-Length: %d\r\n\r\n" % n).encode("latin-1") + pattern(sent)
            self.send(data)
            self.request.shutdown(socket.SHUT_WR)
            return False
        if path == "/close-next":
            self.close_next = True
            return self.respond(200, json_type, b'{"ok":true,"close_next":true}', head_only, version, keep_alive)
        if path.startswith("/status/"):
            code = int(path[len("/status/"):])
            if code in (204, 304):
                return self.respond(code, [], b"", True, version, keep_alive, framing="none")
            return self.respond(code, json_type, json.dumps({"status": code}).encode(), head_only, version, keep_alive)
        if path == "/slow":
            time.sleep(int(query.get("ms", "1000")) / 1000.0)
            out = json.dumps({"ok": True, "slow": True, "target": target}).encode()
            return self.respond(200, json_type, out, head_only, version, keep_alive)
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
        if path == "/trailers":
            head = (b"HTTP/1.1 200 OK\r\nX-Upstream: fixture\r\nContent-Type: text/plain\r\n"
                    b"Trailer: X-Checksum, Grpc-Status\r\nConnection: x-drop-me\r\nX-Drop-Me: 1\r\n"
                    b"Transfer-Encoding: chunked\r\n")
            if not keep_alive:
                head += b"Connection: close\r\n"
            body = b"" if head_only else b"6\r\nhello \r\n5\r\nworld\r\n0\r\nX-Checksum: 5eb63bbbe0\r\nGrpc-Status: 0\r\n\r\n"
            self.send(head + b"\r\n" + body)
            if not keep_alive:
                self.request.shutdown(socket.SHUT_WR)
            return keep_alive
        if path == "/conn-cl":
            head = b"HTTP/1.1 200 OK\r\nX-Upstream: fixture\r\nConnection: content-length\r\nContent-Length: 5\r\n"
            if not keep_alive:
                head += b"Connection: close\r\n"
            self.send(head + b"\r\n" + (b"" if head_only else b"hello"))
            if not keep_alive:
                self.request.shutdown(socket.SHUT_WR)
            return keep_alive
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
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if isinstance(body, PatternBody):
            # Large generated bodies go out piece by piece: the fixture never holds them.
            self.send(head)
            if not head_only:
                if framing == "chunked":
                    for part in body.pieces(7919):
                        self.send(b"%x\r\n" % len(part) + part + b"\r\n")
                    self.send(b"0\r\n\r\n")
                elif framing in ("length", "close"):
                    for part in body.pieces(251 * 1024):
                        self.send(part)
        else:
            out = [head]
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


class PatternBody:
    """pattern(n) generated piece by piece (odd chunk sizes stay aligned to the pattern)."""
    WINDOW = None

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def pieces(self, size):
        if PatternBody.WINDOW is None or len(PatternBody.WINDOW) < size + 251:
            PatternBody.WINDOW = pattern(size + 251)
        window = PatternBody.WINDOW
        offset = 0
        while offset < self.n:
            k = min(size, self.n - offset)
            start = offset % 251
            yield window[start:start + k]
            offset += k


def server_tls_context(cert, key, client_ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])

    def remember_sni(sock, name, _ctx):
        sock.sni_name = name
    ctx.sni_callback = remember_sni
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def main():
    global LOG_FILE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (IPv6 allowed)")
    ap.add_argument("--log")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM)")
    ap.add_argument("--tls-key", help="the key of --tls-cert (PEM)")
    ap.add_argument("--tls-client-ca", help="require a client certificate signed by this CA")
    ap.add_argument("--handshake-delay-ms", type=int, default=0,
                    help="every connection but the first waits this long before its TLS handshake")
    ap.add_argument("--pattern-sha256", type=int, metavar="N",
                    help="print the SHA-256 of pattern(N) (the body of /bytes?n=N) and exit")
    args = ap.parse_args()
    if args.pattern_sha256 is not None:
        digest = hashlib.sha256()
        for part in PatternBody(args.pattern_sha256).pieces(251 * 4096):
            digest.update(part)
        print(digest.hexdigest(), flush=True)
        return
    if not args.log:
        ap.error("--log is required")
    LOG_FILE = open(args.log, "a", encoding="utf-8")
    global TLS_CONTEXT, HANDSHAKE_DELAY_MS
    HANDSHAKE_DELAY_MS = args.handshake_delay_ms
    if args.tls_cert:
        TLS_CONTEXT = server_tls_context(args.tls_cert, args.tls_key, args.tls_client_ca)
    if ":" in args.host:
        Server.address_family = socket.AF_INET6
    server = Server((args.host, args.port), Handler)
    print("PORT=%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
