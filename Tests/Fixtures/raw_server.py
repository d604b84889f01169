"""The accept loop the raw-socket fixtures share: `--port 0 --log FILE`, prints PORT=<n> when
ready, one thread per connection calling handle(conn, log_path, lock)."""
import argparse, socket, threading


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
