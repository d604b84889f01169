#!/usr/bin/env bash
# malloc-count.sh — heap allocations per proxied request in steady state (issue: zero).
#
#   bash Benchmarks/malloc-count.sh                 # 10 000 keep-alive requests after warm-up
#   REQUESTS=20000 WARMUP=2000 WORKERS=1 bash Benchmarks/malloc-count.sh
#
# Runs the release proxy twice under an LD_PRELOAD counter (Benchmarks/malloc_count.c, compiled
# here with gcc) against the test upstream fixture and the benchmark token endpoint:
#   run A: warm-up (WARMUP requests on CONNS keep-alive connections), then nothing more
#   run B: the same warm-up, then REQUESTS more requests on the same connections
# Both proxies are stopped with SIGTERM and print their counts at exit; (B - A) / REQUESTS is
# the steady-state cost per request. Start-up, token fetch, connection set-up and pool growth
# happen in both runs and cancel out.
# Knobs (env): REQUESTS=10000 WARMUP=1000 CONNS=4 WORKERS=1 SKIP_BUILD=1 M2M_BIN (another binary) MAX_PER_REQUEST (fail
#   with status 2 when allocations per request exceed it; unset = report only);
#   PROTOCOL=h2: the client is h2load (prior knowledge, 10 streams per connection), one run of
#   WARMUP (+ REQUESTS) requests on CONNS connections, so connection set-up cancels out as well.
# Needs: gcc, python3, swift (unless SKIP_BUILD=1); h2load (nghttp2-client) for PROTOCOL=h2.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
# shellcheck source=Benchmarks/fixtures.sh
source "$HERE/fixtures.sh"

: "${REQUESTS:=10000}" "${WARMUP:=1000}" "${CONNS:=4}" "${WORKERS:=1}" "${PROTOCOL:=http1}"
BIN="${M2M_BIN:-$ROOT/.build/release/m2m-proxy}"
WORK="$(mktemp -d /tmp/m2m-malloc-count.XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ${SKIP_BUILD:-0} != 1 ]]; then (cd "$ROOT" && swift build -c release --static-swift-stdlib >&2); fi
gcc -shared -fPIC -O2 -o "$WORK/malloc_count.so" "$HERE/malloc_count.c" -ldl

python3 "$ROOT/Tests/Fixtures/upstream.py" --port 0 --log /dev/null >"$WORK/upstream.out" 2>&1 &
PIDS+=($!)
UPSTREAM_PORT=$(port_of "$WORK/upstream.out")
python3 "$HERE/gen-token.py" >"$WORK/token"
TOKEN_PORT=$(free_port)
python3 "$HERE/token-endpoint.py" --port "$TOKEN_PORT" --token-file "$WORK/token" 2>"$WORK/token.err" &
PIDS+=($!)
# Listening before the first proxy asks it (a refused token fetch answers 503 to every waiting request).
wait_listening() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
wait_listening "$TOKEN_PORT"

# One run: prints "malloc calloc realloc free aligned" of a proxy that served WARMUP + $1 requests.
run() {
    local extra=$1 port out
    port=$(free_port)
    out="$WORK/count.$extra"
    cat >"$WORK/proxy.conf" <<CONF
[server]
listen = "127.0.0.1:$port"
workers = $WORKERS
admin_listen = ""

[credential.bench]
token_url = "http://127.0.0.1:$TOKEN_PORT/token"
client_id = "bench"
client_secret = "bench"

[[route]]
name = "bench"
upstream = "http://127.0.0.1:$UPSTREAM_PORT"
credential = "bench"
resource = "https://api.bench"
CONF
    MALLOC_COUNT_OUT="$out" LD_PRELOAD="$WORK/malloc_count.so" "$BIN" --config "$WORK/proxy.conf" \
        >/dev/null 2>"$WORK/proxy.err" &
    local pid=$!
    if [[ $PROTOCOL == h2 ]]; then
        wait_listening "$port"
        h2load -t 1 -c "$CONNS" -m 10 -n $((WARMUP + extra)) "http://127.0.0.1:$port/bench/item" >"$WORK/h2load.$extra" 2>&1
        grep -q " $((WARMUP + extra)) succeeded, 0 failed" "$WORK/h2load.$extra" \
            || { cat "$WORK/h2load.$extra" "$WORK/proxy.err" >&2; kill "$pid"; exit 1; }
    else
    python3 - "$port" "$WARMUP" "$extra" "$CONNS" <<'PY'
import http.client, sys, time
port, warmup, extra, conns = (int(a) for a in sys.argv[1:5])
for _ in range(100):
    try:
        conns_list = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(conns)]
        for c in conns_list: c.connect()
        break
    except OSError:
        time.sleep(0.05)
def batch(n):
    for i in range(n):
        c = conns_list[i % conns]
        c.request("GET", "/bench/item", headers={"Host": "bench.test"})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            sys.exit(f"request {i}: status {r.status}")
batch(warmup)
batch(extra)
for c in conns_list: c.close()
PY
    fi
    kill -TERM "$pid"
    wait "$pid" || true
    awk '{for (i = 2; i <= NF; i++) { split($i, kv, "="); printf "%s ", kv[2] } print ""}' "$out"
}

read -r a_m a_c a_r a_f a_a < <(run 0)
read -r b_m b_c b_r b_f b_a < <(run "$REQUESTS")
allocs=$(( (b_m + b_c + b_r + b_a) - (a_m + a_c + a_r + a_a) ))
frees=$(( b_f - a_f ))
per=$(python3 -c "print(f'{$allocs / $REQUESTS:.3f}')")
echo "run A (warm-up $WARMUP):            malloc=$a_m calloc=$a_c realloc=$a_r aligned=$a_a free=$a_f"
echo "run B (warm-up + $REQUESTS requests): malloc=$b_m calloc=$b_c realloc=$b_r aligned=$b_a free=$b_f"
echo "allocations per request: $per  (frees per request: $(python3 -c "print(f'{$frees / $REQUESTS:.3f}')"); workers=$WORKERS, $CONNS keep-alive connections, $PROTOCOL)"
if [[ -n ${MAX_PER_REQUEST:-} ]] && python3 -c "import sys; sys.exit(0 if $per > $MAX_PER_REQUEST else 1)"; then
    echo "FAIL: more than $MAX_PER_REQUEST allocations per request" >&2
    exit 2
fi
