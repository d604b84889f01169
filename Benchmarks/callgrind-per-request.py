#!/usr/bin/env python3
"""Per-function instructions per request from a pair of compare.sh callgrind runs.

    python3 Benchmarks/callgrind-per-request.py RUN_0.out RUN_N.out N [--inclusive] [--top 40]
        [--match REGEX]

compare.sh's instr phase leaves callgrind.<target>.0.out (start, 0 requests, stop) and
callgrind.<target>.<N>.out (the same with N requests) in its RESULTS_DIR. For every function this
prints (Ir(N) - Ir(0)) / N, self cost (default) or inclusive (--inclusive), from
`callgrind_annotate --threshold=100 [--inclusive=yes]`; names are demangled by callgrind_annotate
(swift-demangle is applied when present to what it leaves mangled). --match keeps functions whose
name matches REGEX (e.g. 'M2MProxy' for ours).
"""
import argparse
import re
import shutil
import subprocess
import sys

LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$")


def costs(path, inclusive):
    # --auto=no: with a debug-info library the annotated source after the table would be counted again.
    args = ["callgrind_annotate", "--threshold=100", "--auto=no"]
    if inclusive:
        args.append("--inclusive=yes")
    out = subprocess.run(args + [path], capture_output=True, text=True, check=True).stdout
    table = {}
    started = False
    for line in out.splitlines():
        if "file:function" in line:
            started = True
            continue
        if not started:
            continue
        m = LINE.match(line)
        if not m:
            continue
        name = m.group(2).strip()
        name = re.sub(r"^[^:]*:", "", name, count=1) if ":" in name else name
        name = re.sub(r" \[[^\]]*\]$", "", name)
        table[name] = table.get(name, 0) + int(m.group(1).replace(",", ""))
    return table


def demangle(names):
    tool = shutil.which("swift-demangle")
    if not tool:
        return {n: n for n in names}
    out = subprocess.run([tool, "--simplified", "--compact"], input="\n".join(names), capture_output=True, text=True).stdout
    lines = out.splitlines()
    return dict(zip(names, lines)) if len(lines) == len(names) else {n: n for n in names}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run0")
    ap.add_argument("runn")
    ap.add_argument("n", type=int)
    ap.add_argument("--inclusive", action="store_true")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--match", default="")
    a = ap.parse_args()
    c0, cn = costs(a.run0, a.inclusive), costs(a.runn, a.inclusive)
    per = {f: (cn.get(f, 0) - c0.get(f, 0)) / a.n for f in set(c0) | set(cn)}
    names = demangle(sorted(per))
    rows = sorted(per.items(), key=lambda kv: -kv[1])
    if a.match:
        rx = re.compile(a.match)
        rows = [r for r in rows if rx.search(r[0]) or rx.search(names[r[0]])]
    total = sum(v for _, v in per.items()) if not a.inclusive else None
    print(f"# {'inclusive' if a.inclusive else 'self'} instructions per request, (Ir({a.n}) - Ir(0)) / {a.n}"
          + (f"; total self {total:,.0f}" if total is not None else ""))
    for f, v in rows[: a.top]:
        if abs(v) < 0.5:
            continue
        print(f"{v:10,.1f}  {names[f][:150]}")


if __name__ == "__main__":
    sys.exit(main())
