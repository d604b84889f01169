#!/usr/bin/env bash
# malloc-count.sh — heap allocations per proxied request of m2m-proxy in steady state, counted by
# an LD_PRELOAD shim (Benchmarks/malloc-count.c: malloc, calloc, realloc, *align*, free).
#
#   bash Benchmarks/malloc-count.sh                   # 10,000 keep-alive requests after a warm-up
#   REQUESTS=50000 CONNS=50 WORKERS=2 bash Benchmarks/malloc-count.sh
#   MAX_PER_REQUEST=0 bash Benchmarks/malloc-count.sh # exit 1 when above (a check, e.g. for CI)
#
# Set-up (127.0.0.1, ports picked at run time): Tests/Fixtures/upstream.py as the upstream,
# Tests/Fixtures/token_double.py as the token endpoint, the release m2m-proxy (one route with a
# credential, access_log = false, admin off) started with LD_PRELOAD. Benchmarks/kaclient.py sends
# WARMUP_REQUESTS (pools, buffers and the token are in place after it), then, between counter
# snapshots, a run with 0 requests (the same CONNS connections opened and closed) and one with
# REQUESTS requests. Allocations per request = (allocs(REQUESTS run) - allocs(0 run)) / REQUESTS,
# so connection set-up and anything the process does on its own in that time cancel out.
# Prints one line "allocations per request: X ..." (Benchmarks/compare.sh reads it).
#
# Knobs (env): REQUESTS=10000 WARMUP_REQUESTS=2000 CONNS=8 WORKERS=1 MAX_PER_REQUEST= (empty:
#   report only) M2M_BIN=.build/release/m2m-proxy SKIP_BUILD=1 SKIP_INSTALL=1 CC=cc
# Exit status: 0 measured (and within MAX_PER_REQUEST if set); 1 above it; 2 could not measure.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"

: "${REQUESTS:=10000}" "${WARMUP_REQUESTS:=2000}" "${CONNS:=8}" "${WORKERS:=1}" "${MAX_PER_REQUEST:=}"
: "${M2M_BIN:=$ROOT/.build/release/m2m-proxy}" "${SKIP_BUILD:=0}" "${SKIP_INSTALL:=0}"
: "${CC:=$(command -v cc || command -v clang || echo /opt/swift/usr/bin/clang)}"

log() { printf '[malloc-count %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { log "ERROR: $*"; exit 2; }
# shellcheck source=Benchmarks/fixtures.sh
source "$HERE/fixtures.sh"

[[ $SKIP_INSTALL == 1 ]] || bash scripts/install-deps.sh build test >/dev/null
[[ $SKIP_BUILD == 1 ]] || swift build -c release >/dev/null
[[ -x $M2M_BIN ]] || fail "$M2M_BIN not found"

WORK=$(mktemp -d /tmp/m2m-malloc.XXXXXX)
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

"$CC" -O2 -shared -fPIC -o "$WORK/malloc-count.so" "$HERE/malloc-count.c" || fail "cannot build the LD_PRELOAD shim with $CC"

python3 Tests/Fixtures/upstream.py --port 0 --log /dev/null >"$WORK/upstream.out" 2>&1 &
PIDS+=($!)
UP_PORT=$(port_of "$WORK/upstream.out")
python3 Tests/Fixtures/token_double.py --port 0 --log /dev/null --mode '{"ttl": 86400}' >"$WORK/tokens.out" 2>&1 &
PIDS+=($!)
TK_PORT=$(port_of "$WORK/tokens.out")
PORT=$(free_port)

m2m_bench_conf "$PORT" "$WORKERS" "$TK_PORT" "$UP_PORT" >"$WORK/m2m.conf"

MALLOC_COUNT_FILE="$WORK/counters" LD_PRELOAD="$WORK/malloc-count.so" \
    "$M2M_BIN" --config "$WORK/m2m.conf" >"$WORK/m2m.out" 2>&1 &
M2M_PID=$!
PIDS+=("$M2M_PID")
for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    kill -0 "$M2M_PID" 2>/dev/null || { cat "$WORK/m2m.out" >&2; fail "m2m-proxy exited"; }
    sleep 0.05
done

counters() { python3 -c 'import struct, sys; print(*struct.unpack("<3Q", open(sys.argv[1], "rb").read(24)))' "$WORK/counters"; }
client() { python3 "$HERE/kaclient.py" --port "$PORT" --conns "$CONNS" --requests "$1" >"$WORK/client.$1.out" 2>&1 \
    || { cat "$WORK/client.$1.out" >&2; fail "client failed with $1 requests"; }; }

[[ -s $WORK/counters ]] || fail "the shim wrote no counters (LD_PRELOAD not applied? static binary?)"
client "$WARMUP_REQUESTS"
read -r a0 f0 _ < <(counters)
client 0
read -r a1 f1 _ < <(counters)
client "$REQUESTS"
read -r a2 f2 _ < <(counters)
kill -0 "$M2M_PID" 2>/dev/null || fail "m2m-proxy died during the run"

awk -v a0="$a0" -v a1="$a1" -v a2="$a2" -v f0="$f0" -v f1="$f1" -v f2="$f2" -v n="$REQUESTS" -v c="$CONNS" -v w="$WORKERS" 'BEGIN {
    per = ((a2 - a1) - (a1 - a0)) / n; fper = ((f2 - f1) - (f1 - f0)) / n;
    printf "allocations per request: %.3f (frees %.3f; %d requests over %d keep-alive connections after warm-up, workers = %d; allocations: %d before, %d in the %d-connection open/close run, %d in the %d-request run)\n",
        per, fper, n, c, w, a0, a1 - a0, c, a2 - a1, n }' | tee "$WORK/result"
per=$(awk '{print $4}' "$WORK/result")
if [[ -n $MAX_PER_REQUEST ]] && awk -v p="$per" -v m="$MAX_PER_REQUEST" 'BEGIN { exit !(p > m) }'; then
    log "above MAX_PER_REQUEST=$MAX_PER_REQUEST"
    exit 1
fi
