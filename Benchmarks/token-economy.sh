#!/usr/bin/env bash
# token-economy.sh — how many tokens m2m-proxy costs its users under steady load, and whether it
# ever sends an expired token or fails a request because of a refresh.
#
#   bash Benchmarks/token-economy.sh                  # token double, lifetime 20 s, 5 lifetimes (~2 min)
#   LIFETIME=300 LIFETIMES=5 bash Benchmarks/token-economy.sh     # the long run (~26 min)
#   IDP=real bash Benchmarks/token-economy.sh         # the real OAuth2 server (Glewlwyd) instead
#   PACE=50 ...                                       # 50 req/s from a paced keep-alive client
#                                                     # instead of wrk flat out (for long runs)
#
# Setup (all on 127.0.0.1, ports picked at run time): the token endpoint (Tests/Fixtures/
# token_double.py, or Glewlwyd via scripts/real-idp-up.sh) issues JWTs with exp = now + LIFETIME;
# the upstream (Tests/Fixtures/token_checking_upstream.py) checks every token's exp like a
# resource server and counts expired ones; wrk drives the proxy with CONNS connections for
# LIFETIME × LIFETIMES seconds.
#
# Prints per key: tokens issued; the floor run_time ÷ lifetime; the design's own minimum
# run_time ÷ (lifetime − refresh lead), where the lead is DESIGN.md §5's (10% of the lifetime,
# clamped to 30 s – 5 min, never more than half); non-2xx responses; expired tokens delivered.
# For lifetimes ≥ 300 s the lead is 10% and issued ÷ floor ≈ 1.11; for short lifetimes the lead
# is half the lifetime and the ratio to the floor is about 2 by design (refresh at half-life).
# Exit status: 0 when no request failed and no expired token reached the upstream.
#
#   REPLICAS=4 bash Benchmarks/token-economy.sh       # the fleet: N replicas sharing a real
#                                                     # redis-server ([token_store]); see
#                                                     # Benchmarks/token-economy-fleet.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ${REPLICAS:-1} -gt 1 ]]; then exec bash Benchmarks/token-economy-fleet.sh; fi

: "${LIFETIME:=20}" "${LIFETIMES:=5}" "${CONNS:=8}" "${IDP:=double}" "${SKIP_INSTALL:=0}" "${SKIP_BUILD:=0}"
RUN_SECONDS=$((LIFETIME * LIFETIMES + 2))
WORK=$(mktemp -d /tmp/m2m-economy.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [[ -f $WORK/idp/stop.sh ]] && bash "$WORK/idp/stop.sh" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '[economy %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
# shellcheck source=Benchmarks/fixtures.sh
source Benchmarks/fixtures.sh  # cwd is the repository root (cd above)

[[ $SKIP_INSTALL == 1 ]] || bash scripts/install-deps.sh build test bench >/dev/null
[[ $SKIP_BUILD == 1 ]] || swift build -c release --static-swift-stdlib >/dev/null
BIN=.build/release/m2m-proxy

python3 Tests/Fixtures/token_checking_upstream.py --port 0 --log "$WORK/upstream.jsonl" >"$WORK/upstream.out" 2>&1 &
PIDS+=($!)
UP_PORT=$(port_of "$WORK/upstream.out")

if [[ $IDP == real ]]; then
    IDP_PORT=$(free_port)
    IDP_NO_INSTALL=1 IDP_RESOURCES="https://economy.api" bash scripts/real-idp-up.sh "$WORK/idp" "$IDP_PORT" economy-client economy-secret "read" "$LIFETIME" >"$WORK/idp.out"
    TOKEN_URL="http://127.0.0.1:$IDP_PORT/api/oidc/token"
    CLIENT_ID=economy-client SECRET=economy-secret
    count_tokens() { grep -c "Access token generated for client 'economy-client'" "$WORK/idp/glewlwyd.log" || true; }
else
    python3 Tests/Fixtures/token_double.py --port 0 --log "$WORK/tokens.jsonl" \
        --mode "{\"ttl\": $LIFETIME}" >"$WORK/tokens.out" 2>&1 &
    PIDS+=($!)
    TK_PORT=$(port_of "$WORK/tokens.out")
    TOKEN_URL="http://127.0.0.1:$TK_PORT/oidc/token"
    CLIENT_ID=economy-client SECRET=economy-secret
    count_tokens() { curl -s "http://127.0.0.1:$TK_PORT/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token_requests"])'; }
fi

PX_PORT=$(free_port)
cat >"$WORK/proxy.conf" <<CONF
[server]
listen = "127.0.0.1:$PX_PORT"
admin_listen = ""
[credential.economy]
token_url = "$TOKEN_URL"
client_id = "$CLIENT_ID"
client_secret = "$SECRET"
[[route]]
name = "economy"
upstream = "http://127.0.0.1:$UP_PORT"
credential = "economy"
resource = "https://economy.api"
scopes = ["read"]
CONF
"$BIN" --config "$WORK/proxy.conf" >"$WORK/proxy.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PX_PORT/" && break; sleep 0.1; done

if [[ -n ${PACE:-} ]]; then
    log "idp=$IDP lifetime=${LIFETIME}s × $LIFETIMES, paced at $PACE req/s, ${RUN_SECONDS}s of load"
    python3 - "$PX_PORT" "$PACE" "$RUN_SECONDS" >"$WORK/wrk.txt" <<'PY'
import socket, sys, time
port, pace, run = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
req = b"GET /economy HTTP/1.1\r\nHost: economy\r\n\r\n"
s = socket.create_connection(("127.0.0.1", port)); buf = b""
n = bad = 0; start = time.time(); nxt = start
while time.time() - start < run:
    s.sendall(req)
    while b"\r\n\r\n" not in buf: buf += s.recv(65536)
    head, buf = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ")[1]); length = 0
    for l in head.split(b"\r\n")[1:]:
        k, _, v = l.partition(b":")
        if k.strip().lower() == b"content-length": length = int(v)
    while len(buf) < length: buf += s.recv(65536)
    buf = buf[length:]; n += 1
    if not 200 <= status < 400: bad += 1
    nxt += 1 / pace; time.sleep(max(0, nxt - time.time()))
print(f"{n} requests in {run}s")
if bad: print(f"Non-2xx or 3xx responses: {bad}")
PY
else
    log "idp=$IDP lifetime=${LIFETIME}s × $LIFETIMES, $CONNS connections, ${RUN_SECONDS}s of load"
    wrk -t1 -c"$CONNS" -d"${RUN_SECONDS}s" "http://127.0.0.1:$PX_PORT/economy" >"$WORK/wrk.txt" 2>&1
fi
issued=$(count_tokens)
stats=$(curl -s "http://127.0.0.1:$UP_PORT/_stats")
requests=$(grep -Eo '[0-9]+ requests in' "$WORK/wrk.txt" | cut -d' ' -f1)
non2xx=$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' "$WORK/wrk.txt" | grep -Eo '[0-9]+$' || echo 0)
sockerr=$(grep -Eo 'Socket errors:.*' "$WORK/wrk.txt" || echo "none")

python3 - "$issued" "$RUN_SECONDS" "$LIFETIME" "$requests" "$non2xx" "$stats" "$IDP" "$sockerr" <<'PY'
import json, math, sys
issued, run, life, requests, non2xx, stats, idp, sockerr = sys.argv[1:]
issued, run, life, requests, non2xx = int(issued), int(run), int(life), int(requests), int(non2xx)
s = json.loads(stats)
lead = min(min(max(life * 0.1, 30), 300), life / 2)
floor = run / life
design = run / (life - lead)
print(f"| idp | lifetime | run | requests | tokens issued | floor (run÷lifetime) | issued÷floor | design minimum | issued÷design | non-2xx | expired delivered |")
print(f"|---|---|---|---|---|---|---|---|---|---|---|")
print(f"| {idp} | {life} s | {run} s | {requests} | {issued} | {floor:.2f} | {issued/floor:.2f} | {design:.2f} | {issued/design:.2f} | {non2xx} | {s['expired']} |")
if sockerr != "none":
    print("socket errors:", sockerr)
sys.exit(0 if non2xx == 0 and s["expired"] == 0 and s["missing"] == 0 else 2)
PY
