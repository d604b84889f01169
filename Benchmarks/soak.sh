#!/usr/bin/env bash
# soak.sh — m2m-proxy under mixed traffic and deliberate faults for a long time: no crash, no
# memory or file-descriptor drift, no expired token, no corrupted body.
#
#   bash Benchmarks/soak.sh                 # 30 minutes
#   bash Benchmarks/soak.sh --minutes 120   # longer
#   bash Benchmarks/soak.sh --ci            # 3 minutes (CI)
#   SKIP_BUILD=1 bash Benchmarks/soak.sh --ci   # use the existing .build/release/m2m-proxy
#   KEEP=1 ...                              # keep the work directory (logs, samples) at the end
#
# Setup (all on 127.0.0.1, ports picked at run time): Tests/Fixtures/token_double.py issues
# JWTs with a 10 s lifetime; Tests/Fixtures/token_checking_upstream.py checks every token's exp
# and records expired or missing ones in an events file that survives its restarts; the proxy
# (release build, one loop, access_log off, admin listener on for /metrics and /tokens) has five
# routes sharing one token key. Benchmarks/soak.py then runs the load, the faults and the
# sampling, and prints the summary (see its docstring):
#   - traffic: keep-alive and per-request connections, HTTP/1.0, POST /echo bodies (0 B – 1.5 MB,
#     Content-Length and chunked, some sent slowly) with a SHA-256 check, 4 MB responses read
#     slowly, pipelined batches of 10, slow upstream answers (0.2–2 s), 404s (no route and the
#     upstream's own);
#   - faults: the token endpoint is down for 10 s every 45 s from t = 20 s (HTTP 500, dropped
#     connections, refused connections, in turn); between two outages (25 s after one starts)
#     the upstream is killed (SIGKILL / SIGTERM) and restarted on the same port 2 s later, about
#     every max(45 s, run ÷ 6) (3 times in --ci, 6 in 30 minutes);
#   - every 5 s: the proxy's VmRSS (/proc/PID/status) and open fds (/proc/PID/fd).
# Non-2xx answers are attributed to the fault windows: 503 token_unavailable from an outage's
# start until the proxy holds a token again; 502/504 and client-side errors from an upstream
# kill until 2 s after it is back. At the end the proxy gets SIGTERM and must exit 0.
#
# Exit status 0 = passed. Non-zero on: a crash (or a non-zero exit at SIGTERM), RSS at the end
# > 2 × the 1-minute value + 20 MB, open fds grown by > 50, an expired (or missing) token at the
# upstream, a body mismatch, a failure outside every fault window, issued tokens > 2 × the
# design minimum.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MINUTES=30
while [[ $# -gt 0 ]]; do
    case $1 in
        --minutes) MINUTES=$2; shift 2 ;;
        --minutes=*) MINUTES=${1#*=}; shift ;;
        --ci) MINUTES=3; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [--minutes N | --ci]" >&2; exit 2 ;;
    esac
done
: "${SKIP_BUILD:=0}" "${KEEP:=0}" "${LIFETIME:=10}"
DURATION=$(python3 -c "print(int(float('$MINUTES') * 60))")

WORK=$(mktemp -d /tmp/m2m-soak.XXXXXX)
mkdir -p "$WORK/pids"
cleanup() {
    local f p
    for f in "$WORK"/pids/*; do
        [[ -f $f ]] || continue
        p=$(cat "$f")
        kill "$p" 2>/dev/null || true
    done
    if [[ $KEEP == 1 ]]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
# shellcheck source=Benchmarks/fixtures.sh
source Benchmarks/fixtures.sh  # cwd is the repository root (cd above)

if [[ $SKIP_BUILD != 1 ]]; then
    log "building release"
    swift build -c release --static-swift-stdlib >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
fi
BIN=.build/release/m2m-proxy
[[ -x $BIN ]] || { echo "no $BIN (run without SKIP_BUILD=1)" >&2; exit 1; }

TOKEN_FIXTURE=Tests/Fixtures/token_double.py
UP_FIXTURE=Tests/Fixtures/token_checking_upstream.py
python3 "$TOKEN_FIXTURE" --port 0 --log "$WORK/tokens.jsonl" --mode "{\"ttl\": $LIFETIME}" \
    >"$WORK/token.0.out" 2>&1 </dev/null &
echo $! >"$WORK/pids/token"; disown
python3 "$UP_FIXTURE" --port 0 --events "$WORK/upstream-events.jsonl" >"$WORK/upstream.0.out" 2>&1 </dev/null &
echo $! >"$WORK/pids/upstream"; disown
TK_PORT=$(port_of "$WORK/token.0.out")
UP_PORT=$(port_of "$WORK/upstream.0.out")
PX_PORT=$(free_port)
ADMIN_PORT=$(free_port)

{
    cat <<CONF
[server]
listen = "127.0.0.1:$PX_PORT"
workers = 1
admin_listen = "127.0.0.1:$ADMIN_PORT"
access_log = false
drain_timeout_ms = 5000

[credential.soak]
token_url = "http://127.0.0.1:$TK_PORT/oidc/token"
client_id = "soak-client"
client_secret = "soak-secret"
CONF
    for r in items echo bytes slow status; do
        cat <<CONF

[[route]]
name = "$r"
path_prefix = "/$r"
upstream = "http://127.0.0.1:$UP_PORT"
credential = "soak"
resource = "https://soak.api"
scopes = ["read", "write"]
CONF
    done
} >"$WORK/proxy.conf"
"$BIN" check --config "$WORK/proxy.conf" >/dev/null
"$BIN" --config "$WORK/proxy.conf" >"$WORK/proxy.out" 2>"$WORK/proxy.err" </dev/null &
PX_PID=$!
echo $PX_PID >"$WORK/pids/proxy"
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/readyz" && break
    sleep 0.1
done

log "proxy pid $PX_PID on :$PX_PORT (admin :$ADMIN_PORT), token double :$TK_PORT (lifetime ${LIFETIME}s), upstream :$UP_PORT; ${DURATION}s of load; work dir $WORK"
rc=0
python3 Benchmarks/soak.py --duration "$DURATION" --work "$WORK" \
    --proxy-port "$PX_PORT" --admin-port "$ADMIN_PORT" --proxy-pid "$PX_PID" \
    --upstream-port "$UP_PORT" --token-port "$TK_PORT" --lifetime "$LIFETIME" \
    --token-fixture "$TOKEN_FIXTURE" --upstream-fixture "$UP_FIXTURE" \
    --token-log "$WORK/tokens.jsonl" --events "$WORK/upstream-events.jsonl" || rc=$?

# A graceful stop: SIGTERM drains and exits 0.
px_rc=0
if kill -0 "$PX_PID" 2>/dev/null; then
    kill -TERM "$PX_PID"
    wait "$PX_PID" || px_rc=$?
else
    wait "$PX_PID" || px_rc=$?
    echo "proxy had exited (status $px_rc) before the end of the run"
    rc=1
fi
rm -f "$WORK/pids/proxy"
echo "proxy exit status at SIGTERM: $px_rc"
[[ $px_rc == 0 ]] || rc=1
echo "proxy stderr: $(wc -l <"$WORK/proxy.err") lines; by level: $(awk '{print $2}' "$WORK/proxy.err" | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')last lines:"
tail -3 "$WORK/proxy.err" | sed 's/^/  /'
[[ $rc == 0 ]] && log "PASSED" || log "FAILED"
exit $rc
