#!/usr/bin/env python3
"""Mixed traffic, faults and resource sampling for Benchmarks/soak.sh (stdlib only).

Started by soak.sh once the proxy, the token double and the upstream are up; it
- drives the proxy with mixed traffic from threads (keep-alive and one request per connection,
  HTTP/1.0, POST /echo bodies up to 1.5 MB with a SHA-256 check, chunked and slowly sent
  bodies, slow readers of 4 MB responses, pipelined batches, slow upstream answers, 404s);
- flaps the token endpoint (every 45 s, 10 s of HTTP 500 / dropped connections / refused
  connections, in turn) and restarts the upstream a few times (SIGKILL or SIGTERM, 2 s down,
  same port);
- samples the proxy's RSS and open file descriptors every 5 s;
- attributes every non-2xx answer and client-side error to a fault window, and prints the
  summary. Exit status 0 = pass, 1 = fail (the reasons are printed).

Processes it (re)starts get their pid written to WORK/pids/<name>, where soak.sh's trap finds them.
"""
import argparse, hashlib, json, os, random, signal, socket, subprocess, sys, threading, time
import urllib.request

TIMEOUT = 40.0  # client socket timeout (the proxy's response_timeout is 30 s)


# ---------------------------------------------------------------- tiny HTTP/1.1 client

class ClientError(Exception):
    pass


class Conn:
    def __init__(self, port, rcvbuf=None):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(TIMEOUT)
        try:
            self.s.connect(("127.0.0.1", port))
        except OSError as e:
            self.s.close()
            raise ClientError("connect: %s" % e)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.open = True

    def close(self):
        self.open = False
        try:
            self.s.close()
        except OSError:
            pass

    def send(self, data):
        try:
            self.s.sendall(data)
        except OSError as e:
            raise ClientError("send: %s" % e)

    def fill(self, want=65536, slow=None):
        try:
            chunk = self.s.recv(want)
        except OSError as e:
            raise ClientError("recv: %s" % e)
        if slow:
            time.sleep(slow)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def until(self, sep):
        while sep not in self.buf:
            if not self.fill():
                raise ClientError("EOF before %r" % sep)
        out, self.buf = self.buf.split(sep, 1)
        return out

    def exact(self, n, sink, slow=None, piece=65536):
        while n > 0:
            if not self.buf and not self.fill(min(piece, n) if slow else 65536, slow):
                raise ClientError("EOF in body (%d bytes missing)" % n)
            k = min(n, len(self.buf))
            sink(self.buf[:k])
            self.buf = self.buf[k:]
            n -= k

    def response(self, head_only=False, slow=None, piece=65536):
        """Returns (status, headers, sha256 hex, length, body-or-None for small bodies)."""
        head = self.until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        headers = {}
        for l in head[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        h = hashlib.sha256()
        small = []
        size = [0]

        def sink(b):
            h.update(b)
            size[0] += len(b)
            if size[0] <= 70000:
                small.append(b)
        if head_only or status in (204, 304) or 100 <= status < 200:
            pass
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                n = int(self.until(b"\r\n").split(b";")[0], 16)
                if n == 0:
                    while self.until(b"\r\n") != b"":
                        pass
                    break
                self.exact(n, sink, slow, piece)
                self.until(b"\r\n")
        elif "content-length" in headers:
            self.exact(int(headers["content-length"]), sink, slow, piece)
        else:  # close-delimited
            while self.buf or self.fill(piece, slow):
                sink(self.buf)
                self.buf = b""
            self.open = False
        if "close" in headers.get("connection", "").lower():
            self.close()
        body = b"".join(small) if size[0] <= 70000 else None
        return status, headers, h.hexdigest(), size[0], body


def pattern_sha(n):
    block = bytes(i % 251 for i in range(251))
    h = hashlib.sha256()
    full = block * 4000
    done = 0
    while done < n:
        k = min(len(full), n - done)
        h.update(full[:k])
        done += k
    return h.hexdigest()


# ---------------------------------------------------------------- recording

class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = {}          # kind -> count of verified 200s (and expected 404s)
        self.events = []      # (t0, t1, kind, outcome, detail) for everything not a plain success

    def success(self, kind, n=1):
        with self.lock:
            self.ok[kind] = self.ok.get(kind, 0) + n

    def other(self, t0, t1, kind, outcome, detail=""):
        with self.lock:
            self.events.append((t0, t1, kind, outcome, detail[:200]))


def check_error_body(status, headers, body):
    """The proxy's own error JSON: returns its error code or None."""
    try:
        return json.loads(body)["error"]
    except Exception:
        return None


# ---------------------------------------------------------------- load workers

class Load:
    def __init__(self, port, stop, rec):
        self.port, self.stop, self.rec = port, stop, rec
        self.bytes_sha = {n: pattern_sha(n) for n in (4_000_000,)}

    def status_outcome(self, t0, kind, status, headers, body, expect=200):
        t1 = time.time()
        if status == expect:
            self.rec.success(kind)
            return True
        err = check_error_body(status, headers, body or b"")
        detail = "%s retry-after=%s" % (err, headers.get("retry-after"))
        self.rec.other(t0, t1, kind, "status %d%s" % (status, " " + err if err else ""), detail)
        time.sleep(0.1)  # a client that got an error waits a little before trying again
        return False

    def run_keepalive(self, kind, make, pause):
        """make(i) -> (request bytes, checker(status, headers, sha, length, body) -> bool or None)"""
        conn = None
        i = 0
        while not self.stop.is_set():
            i += 1
            t0 = time.time()
            try:
                if conn is None or not conn.open:
                    conn = Conn(self.port)
                req, check, opts = make(i)
                if callable(req):
                    req(conn)
                else:
                    conn.send(req)
                status, headers, sha, length, body = conn.response(**opts)
                check(t0, status, headers, sha, length, body)
            except ClientError as e:
                self.rec.other(t0, time.time(), kind, "client error", str(e))
                if conn:
                    conn.close()
                conn = None
                time.sleep(0.05)
            except Exception as e:  # a parse error: treat as a client-side error too
                self.rec.other(t0, time.time(), kind, "client error", "%s: %s" % (type(e).__name__, e))
                if conn:
                    conn.close()
                conn = None
            time.sleep(pause)
        if conn:
            conn.close()

    # kinds ----------------------------------------------------------------

    def ka_get(self):
        def make(i):
            req = b"GET /items/%d HTTP/1.1\r\nHost: soak\r\n\r\n" % i
            return req, lambda t0, st, h, sha, n, b: self.ok_json(t0, "ka_get", st, h, b), {}
        self.run_keepalive("ka_get", make, 0.01)

    def ok_json(self, t0, kind, st, h, b):
        if st == 200 and b != b'{"ok":true}':
            self.rec.other(t0, time.time(), kind, "body mismatch", repr(b[:80]))
            return
        self.status_outcome(t0, kind, st, h, b)

    def close_get(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            t0 = time.time()
            v10 = i % 3 == 0
            req = (b"GET /items/c%d HTTP/1.0\r\nHost: soak\r\n\r\n" % i if v10 else
                   b"GET /items/c%d HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n" % i)
            conn = None
            try:
                conn = Conn(self.port)
                conn.send(req)
                st, h, sha, n, b = conn.response()
                self.ok_json(t0, "close_get", st, h, b)
            except ClientError as e:
                self.rec.other(t0, time.time(), "close_get", "client error", str(e))
                time.sleep(0.1)
            finally:
                if conn:
                    conn.close()
            time.sleep(0.02)

    def post_echo(self, seed):
        rnd = random.Random(seed)
        sizes = [0, 100, 4096, 65536, 65537, 300_000, 1_500_000]

        def make(i):
            n = rnd.choice(sizes)
            body = rnd.randbytes(n)
            want = hashlib.sha256(body).hexdigest()
            mode = rnd.random()
            if mode < 0.25 and n:  # chunked, odd pieces
                pieces = []
                for k in range(0, n, 7919):
                    part = body[k:k + 7919]
                    pieces.append(b"%x\r\n" % len(part) + part + b"\r\n")
                req = (b"POST /echo HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n"
                       + b"".join(pieces) + b"0\r\n\r\n")
            else:
                req = b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n" % n + body
            if 0.25 <= mode < 0.35 and n >= 65536:  # a slow sender: 8 KB pieces, 10 ms apart, for a while
                raw = req

                def send_slowly(conn, raw=raw):
                    slow = min(len(raw), 400_000)
                    for k in range(0, slow, 8192):
                        conn.send(raw[k:min(k + 8192, slow)])
                        time.sleep(0.01)
                    conn.send(raw[slow:])
                req = send_slowly

            def check(t0, st, h, sha, length, b):
                if st == 200 and (sha != want or length != n):
                    self.rec.other(t0, time.time(), "post_echo", "body mismatch",
                                   "sent %d got %d bytes" % (n, length))
                    return
                self.status_outcome(t0, "post_echo", st, h, b)
            return req, check, {}
        self.run_keepalive("post_echo", make, 0.02)

    def slow_reader(self):
        n = 4_000_000
        want = self.bytes_sha[n]
        i = 0
        while not self.stop.is_set():
            i += 1
            t0 = time.time()
            conn = None
            try:
                conn = Conn(self.port, rcvbuf=32768)
                conn.send(b"GET /bytes?n=%d%s HTTP/1.1\r\nHost: soak\r\n\r\n" % (n, b"&chunked=1" if i % 2 else b""))
                st, h, sha, length, b = conn.response(slow=0.01, piece=16384)
                if st == 200 and (sha != want or length != n):
                    self.rec.other(t0, time.time(), "slow_reader", "body mismatch", "got %d bytes" % length)
                else:
                    self.status_outcome(t0, "slow_reader", st, h, b)
            except ClientError as e:
                self.rec.other(t0, time.time(), "slow_reader", "client error", str(e))
                time.sleep(0.1)
            finally:
                if conn:
                    conn.close()

    def pipeline(self):
        conn = None
        batch = 0
        while not self.stop.is_set():
            batch += 1
            t0 = time.time()
            reqs, wants = [], []
            for k in range(10):
                if k % 2:
                    body = b"pipe-%d-%d" % (batch, k)
                    reqs.append(b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                    wants.append(body)
                else:
                    reqs.append(b"GET /items/p%d HTTP/1.1\r\nHost: soak\r\n\r\n" % k)
                    wants.append(b'{"ok":true}')
            done = 0
            last = 0
            try:
                if conn is None or not conn.open:
                    conn = Conn(self.port)
                conn.send(b"".join(reqs))
                for want in wants:
                    st, h, sha, n, b = conn.response()
                    done += 1
                    if st == 200 and b != want:
                        self.rec.other(t0, time.time(), "pipeline", "body mismatch",
                                       "want %r got %r (order?)" % (want, b[:40]))
                    else:
                        self.status_outcome(t0, "pipeline", st, h, b)
                    last = st
                    if not conn.open:
                        break
                if done < len(wants):  # the proxy closed after an answer: the rest are not answered
                    self.rec.other(t0, time.time(), "pipeline", "pipeline cut after %d" % last,
                                   "Connection: close after %d of %d pipelined" % (done, len(wants)))
                    conn = None
            except ClientError as e:
                self.rec.other(t0, time.time(), "pipeline", "client error",
                               "%s (after %d of %d pipelined)" % (e, done, len(wants)))
                if conn:
                    conn.close()
                conn = None
                time.sleep(0.05)
            time.sleep(0.05)

    def slow_upstream(self, seed):
        rnd = random.Random(seed)

        def make(i):
            req = b"GET /slow?ms=%d HTTP/1.1\r\nHost: soak\r\n\r\n" % rnd.randint(200, 2000)
            return req, lambda t0, st, h, sha, n, b: self.ok_json(t0, "slow_upstream", st, h, b), {}
        self.run_keepalive("slow_upstream", make, 0.0)

    def not_found(self):
        def make(i):
            if i % 2:  # no route: the proxy's own 404, the connection stays open
                req = b"GET /nope/%d HTTP/1.1\r\nHost: soak\r\n\r\n" % i

                def check(t0, st, h, sha, n, b):
                    if st == 404 and check_error_body(st, h, b) == "no_route":
                        self.rec.success("404 no_route")
                    else:
                        self.status_outcome(t0, "not_found", st, h, b, expect=-1)
            else:     # the upstream's 404 passed through
                req = b"GET /status/404 HTTP/1.1\r\nHost: soak\r\n\r\n"

                def check(t0, st, h, sha, n, b):
                    if st == 404 and b == b'{"status": 404}':
                        self.rec.success("404 upstream")
                    else:
                        self.status_outcome(t0, "not_found", st, h, b, expect=-1)
            return req, check, {}
        self.run_keepalive("not_found", make, 0.1)

    def threads(self):
        spec = [("ka_get", self.ka_get, ()), ("ka_get", self.ka_get, ()),
                ("close_get", self.close_get, ()),
                ("post_echo", self.post_echo, (1,)), ("post_echo", self.post_echo, (2,)),
                ("slow_reader", self.slow_reader, ()), ("slow_reader", self.slow_reader, ()),
                ("pipeline", self.pipeline, ()),
                ("slow_upstream", self.slow_upstream, (3,)), ("slow_upstream", self.slow_upstream, (4,)),
                ("not_found", self.not_found, ())]
        return [threading.Thread(target=f, args=a, name=n, daemon=True) for n, f, a in spec]


# ---------------------------------------------------------------- processes and faults

class Proc:
    """A fixture process restarted on the same port; its pid lives in WORK/pids/<name>."""

    def __init__(self, name, work, argv, port):
        self.name, self.work, self.argv, self.port = name, work, argv, port
        self.pid = int(open(os.path.join(work, "pids", name)).read())
        self.child = None
        self.starts = 0

    def alive(self):
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def kill(self, sig):
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.time() + 10
        while self.alive() and time.time() < deadline:
            if self.child:
                try:
                    self.child.wait(0.05)
                except subprocess.TimeoutExpired:
                    pass
            else:
                time.sleep(0.02)

    def start(self, extra=()):
        self.starts += 1
        out_path = os.path.join(self.work, "%s.%d.out" % (self.name, self.starts))
        out = open(out_path, "w")
        self.child = subprocess.Popen([sys.executable] + self.argv + ["--port", str(self.port)] + list(extra),
                                      stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True)
        self.pid = self.child.pid
        with open(os.path.join(self.work, "pids", self.name), "w") as f:
            f.write("%d\n" % self.pid)
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(out_path) as f:
                if "PORT=" in f.read():
                    return True
            if self.child.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("%s did not restart on port %d (see %s)" % (self.name, self.port, out_path))


def http(method, url, body=None, timeout=5):
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Faults:
    def __init__(self, a, stop, t_start):
        self.a, self.stop, self.t_start = a, stop, t_start
        self.token = Proc("token", a.work, [a.token_fixture, "--log", a.token_log], a.token_port)
        self.upstream = Proc("upstream", a.work, [a.upstream_fixture, "--events", a.events], a.upstream_port)
        self.token_windows = []     # dicts: kind, start, end, recovered
        self.upstream_windows = []  # dicts: signal, kill, ready
        self.errors = []
        d = a.duration
        self.plan = []
        t, k = a.token_first, 0
        while t + a.token_down <= d - 15:
            self.plan.append((t, "token", ["http500", "drop", "refuse"][k % 3]))
            t += a.token_every
            k += 1
        # Upstream restarts sit between token outages (25 s after one starts), in every m-th gap
        # so that they come about every max(45 s, run ÷ 6): each fault is seen on its own.
        m = max(1, round(max(45.0, d / 6) / a.token_every))
        t, k = a.token_first + a.upstream_offset, 0
        while t <= d - 10:
            self.plan.append((t, "upstream", [signal.SIGKILL, signal.SIGTERM][k % 2]))
            t += m * a.token_every
            k += 1
        self.plan.sort(key=lambda p: p[0])
        self.done = threading.Event()

    def set_mode(self, mode):
        mode = dict(mode, ttl=self.a.lifetime)
        http("POST", "http://127.0.0.1:%d/_mode" % self.a.token_port, json.dumps(mode).encode())

    def token_outage(self, kind):
        w = {"kind": kind, "start": time.time()}
        self.token_windows.append(w)
        if kind == "refuse":
            self.token.kill(signal.SIGTERM)
        else:
            self.set_mode({"status": 500, "error": "server_error"} if kind == "http500" else {"drop": True})
        self.sleep(self.a.token_down)
        if kind == "refuse":
            self.token.start(["--mode", json.dumps({"ttl": self.a.lifetime})])
        else:
            self.set_mode({})
        w["end"] = time.time()
        # Recovered: the proxy holds a fresh token again (its backoff may outlast the outage).
        deadline = w["end"] + 120
        while time.time() < deadline and not self.stop.is_set():
            try:
                st, body = http("GET", "http://127.0.0.1:%d/tokens" % self.a.admin_port)
                keys = json.loads(body)
                if keys and all(k.get("last_outcome") == "ok" and (k.get("seconds_left") or 0) > 0 for k in keys):
                    break
            except Exception:
                pass
            time.sleep(0.1)
        w["recovered"] = time.time()

    def upstream_restart(self, sig):
        w = {"signal": signal.Signals(sig).name, "kill": time.time()}
        self.upstream_windows.append(w)
        self.upstream.kill(sig)
        self.sleep(self.a.upstream_down)
        self.upstream.start()
        w["ready"] = time.time()

    def sleep(self, s):
        self.stop.wait(s)

    def run(self):
        threads = []
        try:
            for at, what, arg in self.plan:
                delay = self.t_start + at - time.time()
                if delay > 0 and self.stop.wait(delay):
                    break
                f = self.token_outage if what == "token" else self.upstream_restart
                t = threading.Thread(target=self.guard, args=(f, arg), daemon=True)
                t.start()
                threads.append(t)
            for t in threads:
                t.join()
        finally:
            self.done.set()

    def guard(self, f, arg):
        try:
            f(arg)
        except Exception as e:
            self.errors.append("%s(%s): %s" % (f.__name__, arg, e))


# ---------------------------------------------------------------- sampling

def proc_sample(pid):
    try:
        rss = 0
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        fds = len(os.listdir("/proc/%d/fd" % pid))
        return rss, fds
    except OSError:
        return None


def scrape(admin_port):
    st, body = http("GET", "http://127.0.0.1:%d/metrics" % admin_port)
    out = {}
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        out[name_labels] = float(value)
    return out


def metric_rows(m, name):
    rows = []
    for k, v in m.items():
        if k.startswith(name + "{") or k == name:
            labels = k[len(name):].strip("{}")
            rows.append((labels, v))
    return sorted(rows)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    for k in ("proxy_port", "admin_port", "proxy_pid", "upstream_port", "token_port"):
        ap.add_argument("--" + k.replace("_", "-"), type=int, required=True)
    ap.add_argument("--duration", type=float, required=True, help="seconds of load")
    ap.add_argument("--work", required=True)
    ap.add_argument("--token-fixture", required=True)
    ap.add_argument("--upstream-fixture", required=True)
    ap.add_argument("--token-log", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--lifetime", type=int, default=10)
    ap.add_argument("--token-first", type=float, default=20)
    ap.add_argument("--token-every", type=float, default=45)
    ap.add_argument("--token-down", type=float, default=10)
    ap.add_argument("--upstream-offset", type=float, default=25, help="s after a token outage starts")
    ap.add_argument("--upstream-down", type=float, default=2)
    ap.add_argument("--sample-every", type=float, default=5)
    a = ap.parse_args()

    stop = threading.Event()
    rec = Recorder()
    load = Load(a.proxy_port, stop, rec)
    metrics_start = scrape(a.admin_port)
    t_start = time.time()
    samples = []  # (t, rss_kb, fds)
    crashed = None

    faults = Faults(a, stop, t_start)
    workers = load.threads()
    for t in workers:
        t.start()
    ft = threading.Thread(target=faults.run, daemon=True)
    ft.start()
    print("[soak %s] load started: %d threads, %d faults planned over %.0f s"
          % (time.strftime("%H:%M:%S"), len(workers), len(faults.plan), a.duration), flush=True)

    next_sample = t_start
    last_note = t_start
    while True:
        now = time.time()
        if now >= next_sample:
            s = proc_sample(a.proxy_pid)
            if s is None:
                crashed = now - t_start
                break
            samples.append((now - t_start, s[0], s[1]))
            next_sample += a.sample_every
        if now - last_note >= 60:
            last_note = now
            with rec.lock:
                n = sum(rec.ok.values()) + len(rec.events)
            print("[soak %s] t=%4.0fs requests=%d rss=%.1f MB fds=%d"
                  % (time.strftime("%H:%M:%S"), now - t_start, n, samples[-1][1] / 1024, samples[-1][2]), flush=True)
        if now - t_start >= a.duration:
            break
        time.sleep(min(0.2, max(0.0, next_sample - time.time())))
    stop.set()
    for t in workers:
        t.join(TIMEOUT + 5)
    ft.join(30)
    run_time = time.time() - t_start
    metrics_end = {} if crashed else scrape(a.admin_port)
    time.sleep(2)  # clients are gone: connections should close
    quiet = proc_sample(a.proxy_pid)
    metrics_quiet = {} if crashed or quiet is None else scrape(a.admin_port)

    ok = summarize(a, rec, faults, samples, crashed, run_time, metrics_start, metrics_end, quiet, metrics_quiet)
    sys.exit(0 if ok else 1)


def summarize(a, rec, faults, samples, crashed, run_time, m0, m1, quiet, mq):
    fail = []
    if crashed is not None:
        fail.append("proxy process gone at t=%.0f s (crash)" % crashed)
    if faults.errors:
        fail.append("fault injection errors: %s" % "; ".join(faults.errors))

    # Attribution windows.
    tok_w = [(w["start"], w.get("recovered", w.get("end", 1e18)) + 0.5) for w in faults.token_windows]
    up_w = [(w["kill"] - 0.1, w.get("ready", 1e18) + 2.0) for w in faults.upstream_windows]

    def within(t0, t1, windows):
        return any(t0 <= e and t1 >= s for s, e in windows)

    table = {}
    unexplained = []
    for t0, t1, kind, outcome, detail in rec.events:
        if outcome == "body mismatch":
            key = "body mismatch"
        elif outcome.startswith("status 503 token_unavailable"):
            key = "503 token_unavailable (token endpoint down)" if within(t0, t1, tok_w) else "503 UNATTRIBUTED"
        elif outcome.startswith(("status 502", "status 504")):
            code = outcome.split()[1]
            key = "%s upstream (restart window)" % code if within(t0, t1, up_w) else "%s UNATTRIBUTED" % code
        elif outcome in ("pipeline cut after 503", "pipeline cut after 502"):
            # An error answer to a request with a body closes the connection (the proxy does not
            # read a body it will not forward); the later pipelined requests go unanswered.
            wins = tok_w if outcome.endswith("503") else up_w
            key = "%s (Connection: close)" % outcome + (" in its fault window" if within(t0, t1, wins) else " UNATTRIBUTED")
        elif outcome == "client error":
            key = "client error (restart window)" if within(t0, t1, up_w) else "client error UNATTRIBUTED"
        else:
            key = "other: %s" % outcome
        table[key] = table.get(key, 0) + 1
        if "UNATTRIBUTED" in key or key.startswith("other") or key == "body mismatch":
            unexplained.append((t0 - faults.t_start, t1 - faults.t_start, kind, outcome, detail))

    total = sum(rec.ok.values()) + len(rec.events)
    print()
    print("== soak summary: %.0f s of mixed load, token lifetime %d s ==" % (run_time, a.lifetime))
    print()
    print("| outcome | requests |")
    print("|---|---|")
    ok200 = sum(v for k, v in rec.ok.items() if not k.startswith("404"))
    print("| 200, body verified | %d |" % ok200)
    for k in sorted(x for x in rec.ok if x.startswith("404")):
        print("| %s (expected) | %d |" % (k, rec.ok[k]))
    for k in sorted(table):
        print("| %s | %d |" % (k, table[k]))
    print("| total | %d |" % total)
    print()
    print("by kind (verified): " + ", ".join("%s %d" % kv for kv in sorted(rec.ok.items())))

    # Faults.
    print()
    print("token endpoint outages (%d):" % len(faults.token_windows))
    for w in faults.token_windows:
        s = w["start"] - faults.t_start
        e = w.get("end", float("nan")) - faults.t_start
        r = w.get("recovered", float("nan")) - faults.t_start
        n503 = sum(1 for t0, t1, *_rest in rec.events if _rest[1].startswith("status 503")
                   and t0 <= w.get("recovered", 1e18) + 0.5 and t1 >= w["start"])
        print("  %-8s t=%5.1f–%5.1f s, token again at %5.1f s (%.1f s after the endpoint came back), 503s: %d"
              % (w["kind"], s, e, r, r - e, n503))
    print("upstream restarts (%d):" % len(faults.upstream_windows))
    for w in faults.upstream_windows:
        k = w["kill"] - faults.t_start
        r = w.get("ready", float("nan")) - faults.t_start
        n = sum(1 for t0, t1, *_rest in rec.events if (_rest[1].startswith(("status 502", "status 504")) or _rest[1] == "client error")
                and t0 <= w.get("ready", 1e18) + 2 and t1 >= w["kill"] - 0.1)
        print("  %-7s at t=%5.1f s, back at %5.1f s, 502/504/client errors around it: %d" % (w["signal"], k, r, n))

    # Resources.
    print()
    if samples:
        def at(t):
            return min(samples, key=lambda s: abs(s[0] - t))
        first, mid, end = samples[0], at(run_time / 2), samples[-1]
        one = at(60)
        max_rss = max(s[1] for s in samples)
        max_fd = max(s[2] for s in samples)
        print("| proxy | start | 1 min | middle | end | max | 2 s after load |")
        print("|---|---|---|---|---|---|---|")
        qr = "%.1f MB" % (quiet[0] / 1024) if quiet else "-"
        qf = "%d" % quiet[1] if quiet else "-"
        print("| RSS | %.1f MB | %.1f MB | %.1f MB | %.1f MB | %.1f MB | %s |"
              % (first[1] / 1024, one[1] / 1024, mid[1] / 1024, end[1] / 1024, max_rss / 1024, qr))
        print("| open fds | %d | %d | %d | %d | %d | %s |" % (first[2], one[2], mid[2], end[2], max_fd, qf))
        print("(%d samples every %.0f s; t of the samples: start %.0f, 1 min %.0f, middle %.0f, end %.0f s)"
              % (len(samples), a.sample_every, first[0], one[0], mid[0], end[0]))
        if end[1] > 2 * one[1] + 20 * 1024:
            fail.append("RSS drift: end %.1f MB > 2 × %.1f MB (1 min) + 20 MB" % (end[1] / 1024, one[1] / 1024))
        if end[2] - one[2] > 50:
            fail.append("fd drift: %d at the end vs %d at 1 min" % (end[2], one[2]))
        if quiet and quiet[1] - first[2] > 50:
            fail.append("fds not released after the load: %d vs %d at start" % (quiet[1], first[2]))

    # Tokens.
    issued = 0
    with open(a.token_log) as f:
        for line in f:
            if json.loads(line).get("issued_token"):
                issued += 1
    attempts = sum(1 for _ in open(a.token_log))
    lead = min(min(max(a.lifetime * 0.1, 30), 300), a.lifetime / 2)
    minimum = run_time / (a.lifetime - lead)
    expired = missing = 0
    if os.path.exists(a.events):
        for line in open(a.events):
            k = json.loads(line)["kind"]
            expired += k == "expired"
            missing += k == "missing"
    print()
    down = sum(w.get("recovered", w["start"]) - w["start"] for w in faults.token_windows)
    print("tokens issued %d (token requests %d, incl. failed ones during outages); minimum %.1f "
          "(run %.0f s ÷ (lifetime %d s − refresh lead %.0f s)); issued ÷ minimum = %.2f"
          % (issued, attempts, minimum, run_time, a.lifetime, lead, issued / minimum if minimum else 0))
    print("  (without the %.0f s from outage starts to recovery: minimum %.1f, issued ÷ minimum = %.2f)"
          % (down, (run_time - down) / (a.lifetime - lead), issued / max(1e-9, (run_time - down) / (a.lifetime - lead))))
    print("expired tokens delivered to the upstream: %d; requests without a token: %d" % (expired, missing))
    if expired:
        fail.append("%d expired tokens reached the upstream" % expired)
    if missing:
        fail.append("%d requests reached the upstream without a token" % missing)
    if issued / minimum > 2.0:
        fail.append("token economy: issued ÷ minimum = %.2f > 2" % (issued / minimum))

    # Proxy metrics (deltas over the run).
    if m1:
        def delta(name):
            rows = {}
            for labels, v in metric_rows(m1, name):
                rows[labels] = v - m0.get(name + ("{%s}" % labels if labels else ""), 0)
            return {k: v for k, v in rows.items() if v}
        print()
        print("proxy /metrics over the run:")
        for name in ("m2m_requests_total", "m2m_upstream_errors_total", "m2m_token_requests_total"):
            for labels, v in sorted(delta(name).items()):
                print("  %s{%s} %d" % (name, labels, v))
        if mq:
            print("  after the load: m2m_open_connections %d, m2m_active_requests %d"
                  % (mq.get("m2m_open_connections", -1), mq.get("m2m_active_requests", -1)))
            if mq.get("m2m_active_requests", 0) > 0:
                fail.append("%d requests still active after the load" % mq["m2m_active_requests"])

    if table.get("body mismatch"):
        fail.append("%d body mismatches" % table["body mismatch"])
    n_unexplained = sum(v for k, v in table.items() if "UNATTRIBUTED" in k or k.startswith("other"))
    if n_unexplained:
        fail.append("%d failures outside any fault window" % n_unexplained)
    with open(os.path.join(a.work, "unexplained.txt"), "w") as f:
        for e in unexplained:
            f.write("t=%.2f–%.2f %s: %s %s\n" % e)
    if unexplained:
        print()
        print("unexplained (first 15; t relative to the start):")
        for t0, t1, kind, outcome, detail in unexplained[:15]:
            print("  t=%.2f–%.2f %s: %s %s" % (t0, t1, kind, outcome, detail))

    print()
    if fail:
        print("SOAK FAILED:")
        for f in fail:
            print("  - " + f)
        return False
    print("SOAK PASSED")
    return True


if __name__ == "__main__":
    main()
