#!/usr/bin/env bash
# token-economy-fleet.sh — the token economy of a fleet: REPLICAS proxies sharing one real
# redis-server through [token_store] (DESIGN.md §5 "Across replicas"), against the token double,
# with the upstream checking every token (Tests/Fixtures/token_checking_upstream.py).
#
#   REPLICAS=4 bash Benchmarks/token-economy.sh             # (execs this script)
#   REPLICAS=4 LIFETIME=10 LIFETIMES=5 STORE_DOWN=30 BURST=1000 bash Benchmarks/token-economy-fleet.sh
#   BIN=.build/debug/m2m-proxy SKIP_BUILD=1 ...             # token counts do not depend on the build
#
# Phases, each printed as one row (the README's targets):
#   1. cold: BURST concurrent requests spread over the replicas, nobody holding a token
#      → token requests (target: exactly 1);
#   2. steady: LIFETIMES token lifetimes of paced traffic over every replica, and the same traffic
#      through ONE proxy without a store against its own token double, at the same time
#      → fleet tokens vs single-process tokens (target: fleet ≤ single + 1);
#   3. outage: the store SIGKILLed for STORE_DOWN seconds under traffic, then restarted
#      → failed requests (target: 0), tokens, and whether a token is stored again afterwards;
#   4. revocation: a 401 invalid_token on replica 1; then traffic over every replica
#      → requests that carried the revoked token more than 1 s later (target: 0);
#   5. (INSTR=1, the default when valgrind is there) instructions per request of one proxy with
#      and without [token_store] under callgrind: (Ir(warm-up + N) − Ir(warm-up)) / N.
# Exit status 0 when every target holds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${REPLICAS:=4}" "${LIFETIME:=10}" "${LIFETIMES:=5}" "${STORE_DOWN:=30}" "${BURST:=1000}" "${PACE:=40}"
: "${SKIP_INSTALL:=0}" "${SKIP_BUILD:=0}" "${BIN:=.build/release/m2m-proxy}"
WORK=$(mktemp -d /tmp/m2m-fleet.XXXXXX)
PIDS=()
REDIS_PID=
cleanup() {
    for p in "${PIDS[@]}" $REDIS_PID; do kill "$p" 2>/dev/null || true; done
    [[ ${KEEP:-0} == 1 ]] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '[fleet %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=Benchmarks/fixtures.sh
source Benchmarks/fixtures.sh

[[ $SKIP_INSTALL == 1 ]] || bash scripts/install-deps.sh build test bench >/dev/null
[[ $SKIP_BUILD == 1 ]] || swift build -c release --static-swift-stdlib >/dev/null

REDIS_PORT=$(free_port)
start_redis() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >>"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return; sleep 0.1; done
    echo "redis-server did not start" >&2; exit 1
}
start_redis

python3 Tests/Fixtures/token_checking_upstream.py --port 0 --log "$WORK/upstream.jsonl" >"$WORK/upstream.out" 2>&1 &
PIDS+=($!)
UP_PORT=$(port_of "$WORK/upstream.out")
for t in fleet single; do
    python3 Tests/Fixtures/token_double.py --port 0 --log "$WORK/tokens-$t.jsonl" --mode "{\"ttl\": $LIFETIME}" >"$WORK/tokens-$t.out" 2>&1 &
    PIDS+=($!)
done
TK_FLEET=$(port_of "$WORK/tokens-fleet.out")
TK_SINGLE=$(port_of "$WORK/tokens-single.out")
tokens() { curl -s "http://127.0.0.1:$1/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token_requests"])'; }

# proxy NAME TOKEN_PORT STORE(0/1) → prints its port
proxy() {
    local port; port=$(free_port)
    local store=""
    [[ $3 == 1 ]] && store=$'[token_store]\nurl = "redis://127.0.0.1:'"$REDIS_PORT"$'/0"\ntimeout_ms = 500\n'
    cat >"$WORK/$1.conf" <<CONF
[server]
listen = "127.0.0.1:$port"
admin_listen = ""
workers = 1
access_log = false
$store
[credential.economy]
token_url = "http://127.0.0.1:$2/oidc/token"
client_id = "economy-client"
client_secret = "economy-secret"
[[route]]
name = "economy"
upstream = "http://127.0.0.1:$UP_PORT"
credential = "economy"
resource = "https://economy.api"
scopes = ["read"]
CONF
    "$BIN" --config "$WORK/$1.conf" >"$WORK/$1.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break; sleep 0.1; done
    echo "$port"
}
PORTS=()
for i in $(seq "$REPLICAS"); do PORTS+=("$(proxy "replica$i" "$TK_FLEET" 1)"); done
SINGLE_PORT=$(proxy single "$TK_SINGLE" 0)
ALL=$(IFS=,; echo "${PORTS[*]}")

cat >"$WORK/load.py" <<'PY'
"""burst PORTS N | steady PORTS SECONDS PACE: prints 'total non2xx' (PORTS comma-separated)."""
import asyncio, sys, time

async def one(port, path):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(f"GET {path} HTTP/1.1\r\nHost: fleet\r\nConnection: close\r\n\r\n".encode())
        await w.drain()
        line = await r.readline()
        await r.read()
        w.close()
        return int(line.split()[1])
    except Exception:
        return 0

async def burst(ports, n):
    return await asyncio.gather(*(one(ports[i % len(ports)], f"/cold/{i}") for i in range(n)))

async def steady(ports, seconds, pace):
    statuses, tasks, i = [], [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        tasks.append(asyncio.ensure_future(one(ports[i % len(ports)], f"/steady/{i}")))
        i += 1
        await asyncio.sleep(1.0 / pace)
    return await asyncio.gather(*tasks)

cmd, ports = sys.argv[1], [int(p) for p in sys.argv[2].split(",")]
res = asyncio.run(burst(ports, int(sys.argv[3])) if cmd == "burst" else steady(ports, float(sys.argv[3]), float(sys.argv[4])))
print(len(res), sum(1 for s in res if not 200 <= s < 300))
PY
ok=1

# 1. cold burst
read -r total bad < <(python3 "$WORK/load.py" burst "$ALL" "$BURST")
cold=$(tokens "$TK_FLEET")
log "cold: $total requests over $REPLICAS replicas, $bad non-2xx, $cold token request(s)"
[[ $cold == 1 && $bad == 0 ]] || ok=0

# 2. steady, fleet and one process side by side
RUN=$((LIFETIME * LIFETIMES))
f0=$(tokens "$TK_FLEET"); s0=$(tokens "$TK_SINGLE")
python3 "$WORK/load.py" steady "$SINGLE_PORT" "$RUN" "$PACE" >"$WORK/single.txt" &
read -r total bad < <(python3 "$WORK/load.py" steady "$ALL" "$RUN" "$PACE")
wait $!
read -r stotal sbad <"$WORK/single.txt"
fleet=$(( $(tokens "$TK_FLEET") - f0 )); single=$(( $(tokens "$TK_SINGLE") - s0 ))
log "steady: ${RUN}s = $LIFETIMES lifetimes; fleet $total requests ($bad non-2xx) $fleet tokens; one process $stotal requests ($sbad non-2xx) $single tokens"
[[ $fleet -le $((single + 1)) && $bad == 0 ]] || ok=0

# 3. store outage
f0=$(tokens "$TK_FLEET")
python3 "$WORK/load.py" steady "$ALL" "$((STORE_DOWN + 4))" "$PACE" >"$WORK/outage.txt" &
LOAD=$!
sleep 2
kill -9 "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true
sleep "$STORE_DOWN"
start_redis
wait $LOAD
read -r total bad <"$WORK/outage.txt"
for _ in $(seq 200); do [[ -n $(redis-cli -p "$REDIS_PORT" --scan) ]] && break; sleep 0.1; done
resumed=$([[ -n $(redis-cli -p "$REDIS_PORT" --scan) ]] && echo yes || echo no)
log "outage: store down ${STORE_DOWN}s under load: $total requests, $bad failed, $(( $(tokens "$TK_FLEET") - f0 )) tokens; a token stored again after restart: $resumed"
[[ $bad == 0 ]] || ok=0

# 4. revocation
curl -s -o /dev/null "http://127.0.0.1:${PORTS[0]}/revoke?reject_once=1"
revoked=$(python3 -c "
import json
for l in open('$WORK/upstream.jsonl'):
    r = json.loads(l)
    if r.get('status') == 401: print(r['token'])" | tail -1)
sleep 1
mark=$(wc -l <"$WORK/upstream.jsonl")
read -r total bad < <(python3 "$WORK/load.py" burst "$ALL" 200)
sent=$(tail -n +"$((mark + 1))" "$WORK/upstream.jsonl" | grep -c -F "\"$revoked\"" || true)
log "revocation: 401 on replica 1; after 1 s, $total requests over $REPLICAS replicas, $sent carried the revoked token"
[[ -n $revoked && $sent == 0 ]] || ok=0

# 5. instructions per request with and without a store (callgrind, one worker, keep-alive):
#    (Ir(WARM + N) - Ir(WARM)) / N for the same config with and without [token_store].
if [[ ${INSTR:-1} == 1 ]] && command -v valgrind >/dev/null; then
    : "${INSTR_N:=2000}" "${INSTR_CONNS:=10}" "${INSTR_WARM:=50}"
    # valgrind cannot read Swift's compressed debug info: a stripped copy, as compare.sh does.
    objcopy --strip-debug "$BIN" "$WORK/m2m-proxy.stripped"
    vg_ir() {  # vg_ir NAME N -> total Ir of one run
        local port; port=$(sed -n 's/^listen = "127.0.0.1:\([0-9]*\)"/\1/p' "$WORK/$1.conf")
        valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$1.$2.out" "$WORK/m2m-proxy.stripped" --config "$WORK/$1.conf" >"$WORK/vg.$1.$2.log" 2>&1 &
        local pid=$!
        for _ in $(seq 600); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break; sleep 0.1; done
        python3 Benchmarks/kaclient.py --port "$port" --conns "$INSTR_CONNS" --requests "$INSTR_WARM" >/dev/null
        python3 Benchmarks/kaclient.py --port "$port" --conns "$INSTR_CONNS" --requests "$2" >/dev/null
        kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
        awk '/^(summary|totals):/ {print $2; exit}' "$WORK/cg.$1.$2.out"
    }
    kill "${PIDS[@]}" 2>/dev/null || true  # the load phases' processes are done
    PIDS=()
    python3 Tests/Fixtures/token_checking_upstream.py --port 0 >"$WORK/upstream2.out" 2>&1 &
    PIDS+=($!); UP_PORT=$(port_of "$WORK/upstream2.out")
    python3 Tests/Fixtures/token_double.py --port 0 --log "$WORK/tokens-instr.jsonl" >"$WORK/tokens-instr.out" 2>&1 &
    PIDS+=($!); TK_INSTR=$(port_of "$WORK/tokens-instr.out")
    for store in 0 1; do
        name=instr-$store
        proxy "$name" "$TK_INSTR" "$store" >/dev/null
        kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
        a=$(vg_ir "$name" 0); b=$(vg_ir "$name" "$INSTR_N")
        log "instructions per request, $( [[ $store == 1 ]] && echo "with a store" || echo "without a store"): $(( (b - a) / INSTR_N )) (callgrind, $INSTR_N requests over $INSTR_CONNS connections after $INSTR_WARM)"
    done
fi

[[ $ok == 1 ]] && log "every target holds" || { log "a target was missed"; exit 1; }
