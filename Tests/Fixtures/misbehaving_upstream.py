#!/usr/bin/env python3
"""An upstream whose responses break HTTP/1.1 framing, for m2m-proxy's framing tests (stdlib only).

    python3 misbehaving_upstream.py --port 0 --log FILE     prints PORT=<n> when ready

Reads one request head per connection (bodies are not expected), appends {"method", "target"}
to FILE, writes the canned bytes for the path below verbatim and closes the connection (FIN):

    /cl-te          Content-Length: 5 and Transfer-Encoding: chunked (a valid chunked body)
    /te-cl          the same, Transfer-Encoding first
    /cl-cl          Content-Length: 5 and Content-Length: 6
    /cl-list        Content-Length: 5, 6
    /cl-bad         Content-Length: 5x
    /te-gzip-cl     Transfer-Encoding: gzip and Content-Length: 5
    /bad-chunk      chunked: a valid 5-byte chunk | then the size line "zz"
    /chunk-no-crlf  chunked: "5\\r\\nhello" | "XX0\\r\\n\\r\\n" (chunk data not followed by CRLF)
    /chunk-overflow chunked: a valid 5-byte chunk | then a 17-digit hex size
    /ok             a correct chunked response, "hello" (control row)

With ``?split=1`` the bytes before the break (| above, the end of the valid part) go first and
the rest 300 ms later, so the proxy has relayed the head before the framing breaks; without it
everything is written at once and the proxy sees the broken body together with the head.
"""
import json, socket, time
import raw_server

HEAD = b"HTTP/1.1 200 OK\r\nX-Upstream: misbehaving\r\nContent-Type: text/plain\r\n"
CHUNKED_HELLO = b"5\r\nhello\r\n0\r\n\r\n"
CANNED = {
    "/cl-te": HEAD + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKED_HELLO,
    "/te-cl": HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + CHUNKED_HELLO,
    "/cl-cl": HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "/cl-list": HEAD + b"Content-Length: 5, 6\r\n\r\nhello!",
    "/cl-bad": HEAD + b"Content-Length: 5x\r\n\r\nhello",
    "/te-gzip-cl": HEAD + b"Transfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello",
    "/bad-chunk": HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n|zz\r\nworld\r\n0\r\n\r\n",
    "/chunk-no-crlf": HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello|XX0\r\n\r\n",
    "/chunk-overflow": HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n|1FFFFFFFFFFFFFFFF\r\nworld\r\n0\r\n\r\n",
    "/ok": HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + CHUNKED_HELLO,
}


def handle(conn, log, lock):
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        line = buf.split(b"\r\n", 1)[0].decode("latin-1")
        method, target, _ = line.split(" ", 2)
        with lock, open(log, "a") as f:
            f.write(json.dumps({"method": method, "target": target}) + "\n")
        path, _, query = target.partition("?")
        first, _, rest = CANNED.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").partition(b"|")
        if "split=1" in query:
            conn.sendall(first)
            time.sleep(0.3)
            conn.sendall(rest)
        else:
            conn.sendall(first + rest)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):
            pass
    except OSError:
        pass
    finally:
        conn.close()


if __name__ == "__main__":
    raw_server.serve(handle)
