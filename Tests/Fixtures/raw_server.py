"""The accept loop the raw-socket fixtures share: `--port 0 --log FILE`, prints PORT=<n> when
ready, one thread per connection calling handle(conn, log_path, lock); and their helpers."""
import argparse, json, socket, threading


def log(path, lock, rec):
    """Appends rec to the log FILE as one JSON line."""
    with lock, open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")


def read_exact(conn, n):
    """n bytes from conn, or None when it closed first."""
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def serve(handle):
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.port))
    s.listen(128)
    print("PORT=%d" % s.getsockname()[1], flush=True)
    lock = threading.Lock()
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn, a.log, lock), daemon=True).start()
