#!/usr/bin/env python3
"""Summarize proxy-vs-nginx runs.tsv: medians over rounds, spread, ratios.

Copied from the team's shared wrk harness (bench/summarize.py); additions: the ratio of the
proxy under test to direct, and --markdown (a table for README.md's Benchmarks section).
Exit 2 when any run saw a non-2xx/3xx response or a socket error.
"""
import argparse
import csv
import statistics as st
import sys
from collections import defaultdict


def fmt_ms(us: float) -> str:
    return f"{us / 1000:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tsv")
    ap.add_argument("--put", help="name of the proxy under test")
    ap.add_argument("--markdown", metavar="NAME",
                    help="also print a Markdown table direct / nginx / NAME with ratios "
                         "(NAME need not have been measured)")
    a = ap.parse_args()

    rows = list(csv.DictReader(open(a.tsv), delimiter="\t"))
    if not rows:
        print("no runs recorded")
        return 1
    by = defaultdict(list)           # (conns, target) -> rows in round order
    targets, conns = [], []
    for r in rows:
        by[(r["conns"], r["target"])].append(r)
        if r["target"] not in targets:
            targets.append(r["target"])
        if r["conns"] not in conns:
            conns.append(r["conns"])

    bad = 0
    med = {}
    for c in conns:
        print(f"\n## {c} connections ({len(by[(c, targets[0])])} rounds, median shown)")
        print(f"{'target':<16}{'req/s':>10}{'min':>9}{'max':>9}{'spread':>8}"
              f"{'p50 ms':>8}{'p99 ms':>8}{'non2xx':>8}{'errors':>8}{'cpu0':>6}{'cpu1':>6}{'srv cores':>10}{'foreign':>8}{'conn/1k':>8}{'us/req':>8}")
        for t in targets:
            rs = by[(c, t)]
            rps = [float(r["rps"]) for r in rs]
            m = st.median(rps)
            med[(c, t)] = m
            non2xx = sum(int(r["non2xx"]) for r in rs)
            errs = sum(int(r[k]) for r in rs for k in ("err_connect", "err_read", "err_write", "err_timeout"))
            bad += non2xx + errs
            spread = (max(rps) - min(rps)) / m * 100 if m else 0
            print(f"{t:<16}{m:>10.0f}{min(rps):>9.0f}{max(rps):>9.0f}{spread:>7.1f}%"
                  f"{fmt_ms(st.median(float(r['p50_us']) for r in rs)):>8}"
                  f"{fmt_ms(st.median(float(r['p99_us']) for r in rs)):>8}"
                  f"{non2xx:>8}{errs:>8}"
                  f"{st.median(float(r['cpu0_busy']) for r in rs):>6.2f}"
                  f"{st.median(float(r['cpu1_busy']) for r in rs):>6.2f}"
                  f"{st.median(float(r['server_cores']) for r in rs):>10.2f}"
                  f"{max(max(float(r['foreign_before']), float(r['foreign_during'])) for r in rs):>8.2f}"
                  f"{st.median(1000 * int(r['new_conns']) / max(1, int(r['requests'])) for r in rs):>8.2f}"
                  f"{st.median(float(r['target_cpu_us_per_req']) for r in rs):>8.2f}")

        def ratio(num, den):
            if (c, num) not in med or (c, den) not in med:
                return
            paired = sorted(float(x["rps"]) / float(y["rps"])
                            for x, y in zip(by[(c, num)], by[(c, den)]))
            print(f"ratio {num}/{den}: {med[(c, num)] / med[(c, den)]:.3f} (of medians); "
                  f"per round {', '.join(f'{p:.3f}' for p in paired)}")

        print()
        if a.put:
            ratio(a.put, "nginx")
            ratio(a.put + "-https", "nginx-https")
            ratio(a.put, "haproxy")
            ratio(a.put, "direct")
        ratio("nginx", "direct")
        ratio("haproxy", "direct")
        ratio("haproxy", "nginx")

    print("\nreq/s = wrk requests / duration; p50/p99 = wrk latency percentiles; spread = (max-min)/median;")
    print("cpu0/cpu1 = busy fraction of each core; srv cores = CPU used by all servers; foreign = cores used by")
    print("other processes (max of before/during the run); conn/1k = TCP connects per 1000 requests beyond")
    print("wrk's own (proxy->upstream churn; netns-wide, so another user's traffic shows up here too);")
    print("us/req = user+sys CPU microseconds of the target's own processes per request (the upstream for")
    print("direct; loopback softirq is billed to no process and not included).")
    if a.markdown:
        n = a.markdown
        def cell(c, t):
            return f"{med[(c, t)]:,.0f}" if (c, t) in med else "not measured"
        def rat(c, x, y):
            return f"{med[(c, x)] / med[(c, y)]:.2f}" if (c, x) in med and (c, y) in med else "–"
        print(f"\n| conns | direct req/s | nginx req/s | {n} req/s | {n}/nginx | {n}/direct |")
        print("|---|---|---|---|---|---|")
        for c in conns:
            print(f"| {c} | {cell(c, 'direct')} | {cell(c, 'nginx')} | {cell(c, n)} | "
                  f"{rat(c, n, 'nginx')} | {rat(c, n, 'direct')} |")
        if any(t == "nginx-https" for (_, t) in med):
            print("\nhttps upstream (both proxies originate TLS to the same upstream):\n")
            print(f"| conns | nginx-https req/s | {n}-https req/s | {n}-https/nginx-https |")
            print("|---|---|---|---|")
            for c in conns:
                print(f"| {c} | {cell(c, 'nginx-https')} | {cell(c, n + '-https')} | {rat(c, n + '-https', 'nginx-https')} |")
    if bad:
        print(f"\nFAIL: {bad} non-2xx responses or socket errors (see runs.tsv)")
        return 2
    print("\nall responses 2xx, no socket errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
