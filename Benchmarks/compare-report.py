#!/usr/bin/env python3
"""Markdown report of one Benchmarks/compare.sh run.

    compare-report.py RESULTS_DIR  > report.md

Reads RESULTS_DIR/{meta.txt, runs.tsv, headers.tsv, syscalls.tsv, instr.tsv, rss.tsv, malloc.txt}
(written by compare.sh) and prints: the set-up, the headers each target sends upstream (recorded in
the preflight), the issue's targets with pass/miss, the wrk table (medians over rounds, with the
upstream's CPU per request), m2m-proxy's ratios to nginx and HAProxy, the https-upstream ratios
(m2m-proxy-tls vs nginx-tls, issue 5), syscalls and instructions per request, memory, allocations. Exit 2 when any wrk run saw a non-2xx/3xx response or a socket error.
Python stdlib only.
"""
import csv
import json
import os
import re
import statistics as st
import sys
from collections import defaultdict

M2M = "m2m-proxy"
M2M_TLS = M2M + "-tls"
BODY_LABEL = {"small": "200 B", "big": "64 KiB"}


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def mb(kb):
    return float(kb) * 1024 / 1e6


def main() -> int:
    d = sys.argv[1]
    meta = {}
    with open(os.path.join(d, "meta.txt")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    runs = read_tsv(os.path.join(d, "runs.tsv"))
    sysc = {r["target"]: r for r in read_tsv(os.path.join(d, "syscalls.tsv"))}
    instr = {r["target"]: r for r in read_tsv(os.path.join(d, "instr.tsv"))}
    rss = read_tsv(os.path.join(d, "rss.tsv"))
    headers = read_tsv(os.path.join(d, "headers.tsv"))
    malloc_txt = ""
    if os.path.exists(os.path.join(d, "malloc.txt")):
        malloc_txt = open(os.path.join(d, "malloc.txt")).read().strip()

    by = defaultdict(list)                      # (workers, conns, body, target) -> rows, round order
    cells = []                                  # (workers, conns, body) in run order
    targets = []
    for r in runs:
        cell = (r["workers"], r["conns"], r["body"])
        by[cell + (r["target"],)].append(r)
        if cell not in cells:
            cells.append(cell)
        if r["target"] not in targets:
            targets.append(r["target"])

    def med(cell, t, key):
        rs = by.get(cell + (t,))
        return st.median(float(x[key]) for x in rs) if rs else None

    def paired(cell, a, b, key):
        ra, rb = by.get(cell + (a,)), by.get(cell + (b,))
        if not ra or not rb:
            return []
        return sorted(float(x[key]) / float(y[key]) for x, y in zip(ra, rb) if float(y[key]))

    def ratio(cell, a, b, key="rps"):
        x, y = med(cell, a, key), med(cell, b, key)
        return x / y if x is not None and y else None

    quick = meta.get("quick") == "1"
    rounds = max((len(v) for v in by.values()), default=0)
    out = []
    p = out.append
    p(f"# m2m-proxy vs nginx vs HAProxy, {meta.get('date', '')}")
    p("")
    if quick:
        p("**Quick smoke run (`--quick`: 1 round × 3 s, each target primed once instead of a warm-up per cell, short phases). Figures are indicative "
          "only; do not draw conclusions from them.**")
        p("")
    foreign = [max(float(x["foreign_before"]), float(x["foreign_during"])) for x in runs]
    if foreign and max(foreign) > 0.1:
        p(f"**The machine was busy: other processes used up to {max(foreign):.2f} cores "
          f"(median {st.median(foreign):.2f}) during the wrk runs; req/s and latency are disturbed by that, "
          "instruction and syscall counts much less.**")
        p("")
    p(f"Command: `{meta.get('command', '')}`")
    p("")
    for k, label in [("host", "Host"), ("versions", "Versions"), ("rounds", "Rounds"), ("pinning", "Pinning"),
                     ("pools", "Upstream pools"), ("setup", "Set-up"), ("m2m", "m2m-proxy"), ("routes", "m2m-proxy routes"),
                     ("tls", "https upstream"),
                     ("hwm", "Peak RSS"),
                     ("syscalls", "Syscalls"), ("instr", "Instructions")]:
        if meta.get(k):
            p(f"- {label}: {meta[k]}")
    p("")

    # ---- forwarded headers ---------------------------------------------------------------------
    if headers:
        p("## Headers each target sends upstream")
        p("")
        p("Recorded in the preflight: one request (curl sending only `Host`, and the token for direct, as wrk does) "
          "through a copy of each proxy configured as measured but whose upstream is the recording fixture "
          "(Tests/Fixtures/upstream.py). Wire order; long values shortened.")
        p("")
        p("| target | status | headers the upstream received |")
        p("|---|---|---|")

        def short(v):
            return v if len(v) <= 40 else f"{v[:16]}…({len(v)} B)"

        for h in headers:
            try:
                head = json.loads(h["headers"])
            except ValueError:
                head = None
            shown = "not recorded" if not head else "<br>".join(
                f"`{n}: {short(v)}`".replace("|", "\\|") for n, v in head)
            p(f"| {h['target']} | {h['status']} | {shown} |")
        p("")

    # ---- targets ---------------------------------------------------------------------------
    rows = []

    def verdict(ok):
        return "n/a" if ok is None else ("**pass**" if ok else "**miss**")

    def need(have, want, higher_is_better=True):
        """How far a miss is from the goal, in words."""
        if have is None or want is None or want == 0:
            return ""
        if higher_is_better:
            return "" if have >= want else f" (needs ×{want / have:.2f} more)"
        return "" if have <= want else f" ({have / want:.2f}× over the goal)"

    def cpu_row(label, cell, ours, ref, goal, goal_text):
        """A 'CPU per request <= goal x ref' row of the targets table."""
        key = "target_cpu_us_per_req"
        r = ratio(cell, ours, ref, key)
        return (label, goal_text,
                "not measured" if r is None else
                f"{r:.2f} × ({med(cell, ours, key):.1f} vs {med(cell, ref, key):.1f} µs)" + need(r, goal, False),
                verdict(None if r is None else r <= goal))

    # The goals are issue 17's (equal work, equal pools, same run): req/s >= 1.1 x nginx and
    # CPU per request <= 0.85 x at 50 and 256 clients, p99 <= nginx; https >= 1.0 x nginx-tls
    # with CPU per request <= nginx-tls; instructions <= 0.4 x; 64 KiB rows >= 1.6 x. The memory,
    # syscall and allocation goals are issue 7's and still hold.
    w1 = "1"
    for conns in ("50", "256"):
        cell = (w1, conns, "small")
        r = ratio(cell, M2M, "nginx")
        pr = paired(cell, M2M, "nginx", "rps")
        rows.append((f"req/s, 1 worker, {conns} conns, 200 B", "≥ 1.1 × nginx",
                     "not measured" if r is None else
                     f"{r:.2f} × ({med(cell, M2M, 'rps'):,.0f} vs {med(cell, 'nginx', 'rps'):,.0f}"
                     + (f"; rounds {', '.join(f'{x:.2f}' for x in pr)}" if pr else "") + ")" + need(r, 1.1),
                     verdict(None if r is None else r >= 1.1)))
        a, b = med(cell, M2M, "p99_us"), med(cell, "nginx", "p99_us")
        rows.append((f"p99, 1 worker, {conns} conns, 200 B", "≤ nginx",
                     "not measured" if a is None or b is None else
                     f"{a / 1000:.2f} ms vs {b / 1000:.2f} ms" + need(a, b, False),
                     verdict(None if a is None or b is None else a <= b)))
        rows.append(cpu_row(f"CPU per request, 1 worker, {conns} conns, 200 B", cell, M2M, "nginx", 0.85,
                            "≤ 0.85 × nginx"))
    for conns in ("50", "256"):
        cell = (w1, conns, "small")
        r = ratio(cell, M2M_TLS, "nginx-tls")
        if r is None:
            continue
        rows.append((f"https upstream req/s, 1 worker, {conns} conns, 200 B", "≥ 1.0 × nginx-tls",
                     f"{r:.2f} × ({med(cell, M2M_TLS, 'rps'):,.0f} vs {med(cell, 'nginx-tls', 'rps'):,.0f})" + need(r, 1.0),
                     verdict(r >= 1.0)))
        rows.append(cpu_row(f"https upstream CPU per request, 1 worker, {conns} conns, 200 B", cell, M2M_TLS,
                            "nginx-tls", 1.0, "≤ nginx-tls"))
    if M2M in sysc and "nginx" in sysc:
        a, b = float(sysc[M2M]["per_request"]), float(sysc["nginx"]["per_request"])
        rows.append(("syscalls per request (strace -c -f)", "≤ nginx",
                     f"{a:.2f} vs {b:.2f}" + need(a, b, False), verdict(a <= b)))
    else:
        rows.append(("syscalls per request (strace -c -f)", "≤ nginx", "not measured", "n/a"))
    if M2M in instr and "nginx" in instr:
        a, b = float(instr[M2M]["per_request"]), float(instr["nginx"]["per_request"])
        rows.append(("instructions per request (callgrind)", "≤ 0.4 × nginx",
                     f"{a / b:.2f} × ({a:,.0f} vs {b:,.0f})" + need(a / b, 0.4, False), verdict(a / b <= 0.4)))
    else:
        rows.append(("instructions per request (callgrind)", "≤ 0.4 × nginx", "not measured", "n/a"))
    m = None
    for pat in (r"alloc\w*\s+per\s+request\D{0,20}?(-?[\d.]+)", r"mallocs?\s*/\s*req\w*\D{0,20}?(-?[\d.]+)",
                r"per\s+request\D{0,40}?(-?[\d.]+)"):
        m = re.search(pat, malloc_txt, re.I)
        if m:
            break
    if m:
        a = float(m.group(1))
        # counters see a few allocations of their own (timers, token bookkeeping) over the run:
        # below 1 per 100 requests is not an allocation per request
        rows.append(("allocations per request, steady state", "0",
                     f"{a:g} per request (Benchmarks/malloc-count.sh)"
                     + (" — under 1 per 100 requests: not per-request work" if 0 < a < 0.01 else ""),
                     verdict(a < 0.01)))
    else:
        why = malloc_txt.splitlines()[-1] if malloc_txt else "phase not run"
        rows.append(("allocations per request, steady state", "0", f"not measured here ({why})", "n/a"))
    idle = [x for x in rss if x["what"] == "idle-fresh" and x["target"] == M2M] or \
        [x for x in rss if x["what"] == "idle" and x["target"] == M2M and x["workers"] == "1"]
    if idle:
        a = mb(idle[0]["rss_kb"])
        rows.append(("RSS idle (fresh start, 1 worker)", "≤ 20 MB", f"{a:.1f} MB" + need(a, 20, False),
                     verdict(a <= 20)))
    held = [x for x in rss if x["what"].startswith("idle-conns") and x["target"] == M2M]
    if held:
        x = held[0]
        if x["what"] == "idle-conns":
            a = mb(x["rss_kb"])
            rows.append((f"RSS with {int(x['conns']):,} idle keep-alive clients (fresh 1-worker instance)", "≤ 64 MB",
                         f"{a:.1f} MB" + need(a, 64, False), verdict(a <= 64)))
        else:
            rows.append((f"RSS with {int(x['conns']):,} idle keep-alive clients", "≤ 64 MB",
                         "the client could not hold them (see the log)", "n/a"))
    for conns in ("50", "256"):
        cell = (w1, conns, "big")
        r = ratio(cell, M2M, "nginx")
        if r is not None:
            rows.append((f"req/s, 64 KiB, 1 worker, {conns} conns", "≥ 1.6 × nginx (proxy_buffering off)",
                         f"{r:.2f} × ({med(cell, M2M, 'rps'):,.0f} vs {med(cell, 'nginx', 'rps'):,.0f})" + need(r, 1.6),
                         verdict(r >= 1.6)))
    a, b = med(("2", "50", "small"), M2M, "rps"), med(("1", "50", "small"), M2M, "rps")
    if a is not None and b is not None:
        two_core = "share CPU 0 with wrk" in meta.get("pinning", "")
        rows.append(("2 workers vs 1 worker, 50 conns, 200 B", "≥ 1.6 ×",
                     f"{a / b:.2f} × ({a:,.0f} vs {b:,.0f})" + need(a / b, 1.6)
                     + ("; 2-core machine: the 2 workers share both cores with wrk and the upstream, "
                        "so this is not a scaling figure" if two_core else ""),
                     verdict(a / b >= 1.6) + (" (not meaningful here)" if two_core else "")))
    p("## Targets (issue 17; memory, syscalls and allocations: issue 7)")
    p("")
    p("| target | goal | measured | result |")
    p("|---|---|---|---|")
    for row in rows:
        p("| " + " | ".join(row) + " |")
    p("")

    # ---- wrk table ---------------------------------------------------------------------------
    bad = 0
    p(f"## Throughput and latency (median of {rounds} round{'s' if rounds != 1 else ''})")
    p("")
    p("| workers | conns | body | target | req/s | min–max | p50 ms | p99 ms | CPU µs/req | upstream CPU µs/req "
      "| peak RSS MB | new upstream conns /1k req | foreign load (max) |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for cell in cells:
        for t in targets:
            rs = by.get(cell + (t,))
            if not rs:
                continue
            rps = [float(x["rps"]) for x in rs]
            bad += sum(int(x[k]) for x in rs for k in ("non2xx", "err_connect", "err_read", "err_write", "err_timeout"))
            cpu_note = " (upstream)" if t in ("direct", "direct-tls") else ""
            p(f"| {cell[0]} | {cell[1]} | {BODY_LABEL.get(cell[2], cell[2])} | {t} | {st.median(rps):,.0f} "
              f"| {min(rps):,.0f}–{max(rps):,.0f} | {med(cell, t, 'p50_us') / 1000:.2f} | {med(cell, t, 'p99_us') / 1000:.2f} "
              f"| {med(cell, t, 'target_cpu_us_per_req'):.1f}{cpu_note} | {med(cell, t, 'upstream_cpu_us_per_req'):.1f} "
              f"| {mb(med(cell, t, 'peak_rss_kb')):.1f} "
              f"| {st.median(1000 * int(x['new_conns']) / max(1, int(x['requests'])) for x in rs):.1f} "
              f"| {max(max(float(x['foreign_before']), float(x['foreign_during'])) for x in rs):.2f} |")
    p("")

    # ---- ratios --------------------------------------------------------------------------------
    p("## m2m-proxy against the references (ratios of medians; per-round paired ratios in brackets)")
    p("")
    p("| workers | conns | body | req/s m2m/nginx | req/s m2m/haproxy | CPU/req m2m/nginx | CPU/req m2m/haproxy "
      "| upstream CPU/req m2m/nginx | p99 m2m/nginx | p99 m2m/haproxy |")
    p("|---|---|---|---|---|---|---|---|---|---|")

    def rc(cell, a, b, key):
        r = ratio(cell, a, b, key)
        if r is None:
            return "–"
        pr = paired(cell, a, b, key)
        return f"{r:.2f}" + (f" [{', '.join(f'{x:.2f}' for x in pr)}]" if len(pr) > 1 else "")

    for cell in cells:
        if cell + (M2M,) not in by:
            continue
        p(f"| {cell[0]} | {cell[1]} | {BODY_LABEL.get(cell[2], cell[2])} | {rc(cell, M2M, 'nginx', 'rps')} "
          f"| {rc(cell, M2M, 'haproxy', 'rps')} | {rc(cell, M2M, 'nginx', 'target_cpu_us_per_req')} "
          f"| {rc(cell, M2M, 'haproxy', 'target_cpu_us_per_req')} | {rc(cell, M2M, 'nginx', 'upstream_cpu_us_per_req')} "
          f"| {rc(cell, M2M, 'nginx', 'p99_us')} "
          f"| {rc(cell, M2M, 'haproxy', 'p99_us')} |")
    p("")

    # ---- https upstream (issue 5) ------------------------------------------------------------------
    tls_cells = [c for c in cells if any(c + (t,) in by for t in ("direct-tls", "nginx-tls", M2M_TLS))]
    if tls_cells:
        p("## https upstream (issue 5): both proxies originate TLS to the same upstream")
        p("")
        p("1-worker nginx and m2m-proxy of their own whose one upstream is the https server of the same upstream "
          "nginx (verified against the test CA, SNI, session reuse, idle pools as for http). Ratios of medians "
          "(per-round paired ratios in brackets); the http ratio of the same cell for comparison.")
        p("")
        p("| workers | conns | body | direct-tls req/s | nginx-tls req/s | m2m-proxy-tls req/s | req/s m2m-tls/nginx-tls "
          "| CPU/req m2m-tls/nginx-tls | p99 m2m-tls/nginx-tls | p99 ms nginx-tls / m2m-tls | req/s m2m/nginx (http) |")
        p("|---|---|---|---|---|---|---|---|---|---|---|")

        def rps(cell, t):
            v = med(cell, t, "rps")
            return "not measured" if v is None else f"{v:,.0f}"

        def p99s(cell):
            a, b = med(cell, "nginx-tls", "p99_us"), med(cell, M2M_TLS, "p99_us")
            return f"{a / 1000:.2f} / {b / 1000:.2f}" if a is not None and b is not None else "–"

        for cell in tls_cells:
            p(f"| {cell[0]} | {cell[1]} | {BODY_LABEL.get(cell[2], cell[2])} | {rps(cell, 'direct-tls')} "
              f"| {rps(cell, 'nginx-tls')} | {rps(cell, M2M_TLS)} | {rc(cell, M2M_TLS, 'nginx-tls', 'rps')} "
              f"| {rc(cell, M2M_TLS, 'nginx-tls', 'target_cpu_us_per_req')} | {rc(cell, M2M_TLS, 'nginx-tls', 'p99_us')} "
              f"| {p99s(cell)} | {rc(cell, M2M, 'nginx', 'rps')} |")
        p("")
        if "nginx-tls" in instr and M2M_TLS in instr:
            a, b = float(instr[M2M_TLS]["per_request"]), float(instr["nginx-tls"]["per_request"])
            p(f"Instructions per request over https (callgrind): m2m-proxy-tls {a:,.0f}, nginx-tls {b:,.0f} "
              f"({a / b:.2f} ×); see the instructions table.")
            p("")

    # ---- syscalls, instructions, memory, allocations ---------------------------------------------
    if sysc:
        any_row = next(iter(sysc.values()))
        p(f"## Syscalls per request (strace -c -f, {int(any_row['requests']):,} requests over "
          f"{any_row['conns']} keep-alive connections, 1 worker, 200 B)")
        p("")
        p("| target | syscalls / request | top syscalls, per request |")
        p("|---|---|---|")
        for t in ("direct", "nginx", "haproxy", M2M, "nginx-tls", M2M_TLS):
            if t in sysc:
                p(f"| {t}{' (upstream)' if t == 'direct' else ''} | {float(sysc[t]['per_request']):.2f} | {sysc[t]['top']} |")
        p("")
    if instr:
        any_row = next(iter(instr.values()))
        p(f"## User-space instructions per request (callgrind, {int(any_row['requests']):,} requests over "
          f"{any_row['conns']} keep-alive connections)")
        p("")
        p("| target | instructions / request | Ir(0 requests) | Ir(N requests) |")
        p("|---|---|---|---|")
        for t in ("nginx", M2M, "nginx-tls", M2M_TLS):
            if t in instr:
                x = instr[t]
                p(f"| {t} | {float(x['per_request']):,.0f} | {int(x['ir_0']):,} | {int(x['ir_n']):,} |")
        p("")
        warm = {t: int(x.get("warmup") or 0) for t, x in instr.items()}
        if any(warm.values()):
            p(f"The -tls rows send {max(warm.values())} warm-up requests in both runs before the counted ones, so the "
              "upstream TLS handshakes of the pool are outside the difference; the http rows count from 0.")
            p("")
    if rss:
        p("## Memory (RSS of the target's processes)")
        p("")
        p("| when | target | workers | RSS MB |")
        p("|---|---|---|---|")
        label = {"idle": "fresh start, token fetched, idle", "idle-start": "fresh start, idle",
                 "idle-fresh": "fresh instance, one 200 B request served, idle",
                 "idle-after-load": "idle after the load phases", "idle-conns": "holding idle keep-alive clients",
                 "idle-conns-failed": "holding idle keep-alive clients: FAILED"}
        for x in rss:
            if x["what"] == "idle" and x["target"] == M2M:
                continue   # shown as idle-start too
            what = label.get(x["what"], x["what"])
            if x["what"] == "idle-conns":
                what = f"fresh instance holding {int(x['conns']):,} idle keep-alive clients"
            p(f"| {what} | {x['target']} | {x['workers']} | {mb(x['rss_kb']):.1f} |")
        p("")
    if malloc_txt:
        p("## Allocations per request (Benchmarks/malloc-count.sh)")
        p("")
        p("```")
        p("\n".join(malloc_txt.splitlines()[-15:]))
        p("```")
        p("")

    p("## Notes")
    p("")
    p("- req/s = wrk requests / duration; p50/p99 from wrk's latency histogram; min–max over rounds.")
    p("- CPU µs/req = user+sys time of the target's own processes (/proc/PID/stat) per request; for `direct` it is "
      "the upstream's. Loopback softirq work is billed to no process and is not included.")
    p("- upstream CPU µs/req = the same for the upstream nginx during the cell: the cost each proxy puts on its "
      "upstream (the heads it sends, its connection reuse). On PIN=split the upstream shares CPU 1 with a 1-worker "
      "proxy, so this time is taken from the proxy too.")
    p("- Peak RSS = VmHWM summed over the target's processes (nginx: master + workers), reset before each cell "
      "(the reset sets it to the current RSS, so memory a process kept from an earlier cell, e.g. buffers grown "
      "for 64 KiB responses in an earlier round, shows in later cells).")
    p("- new upstream conns /1k req = TCP connects beyond wrk's own per 1000 requests (pool churn; netns-wide).")
    p("- foreign load = cores used by processes the benchmark did not start (other jobs on the machine); "
      "distrust rows above ~0.1.")
    p("- direct has no workers: it is measured once per (conns, body), in the 1-worker pass.")
    if any(t.endswith("-tls") for t in targets):
        p("- -tls targets: 1 worker, 200 B only; direct-tls is wrk's own TLS to the upstream, so its CPU µs/req "
          "is the upstream's and wrk (CPU 0) pays the client side of TLS; nginx-tls and m2m-proxy-tls are the "
          "proxies of their own (1 worker, the https upstream only).")
    if bad:
        p(f"\n**FAIL: {bad} non-2xx responses or socket errors (see runs.tsv).**")
    print("\n".join(out))
    return 2 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
