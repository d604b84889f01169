#!/usr/bin/env bash
# compare.sh — m2m-proxy side by side with nginx and HAProxy set up as the same token-injecting
# proxy, and with the upstream hit directly, in ONE run with interleaved rounds (every round
# visits every target in turn, so machine drift hits all of them alike).
#
#   bash Benchmarks/compare.sh              # full: 3 rounds x 10 s per cell (~30 min incl. phases)
#   bash Benchmarks/compare.sh --quick      # smoke: 1 round x 3 s, targets primed once, short phases (< 4 min)
#   ROUNDS=5 DURATION=20 bash Benchmarks/compare.sh
#   (bash Benchmarks/proxy-vs-nginx.sh is the same script under its old name. The TLS issue's
#   separate https script is folded in: its rows are the *-tls targets below.)
#
# Run as root on Debian 12: it installs the `bench` group of scripts/install-deps.sh (wrk,
# nginx-light, haproxy, valgrind, strace, binutils, ...) and builds m2m-proxy in release mode.
#
# Targets (127.0.0.1, ports 19001-19099; see lib.sh for the nginx/haproxy configs):
#   direct     wrk -> upstream nginx :19001; wrk itself sends "Authorization: Bearer <token>"
#   nginx      worker_processes W, upstream keepalive UPSTREAM_IDLE_POOL, proxy_buffering off,
#              proxy_set_header Authorization "Bearer <token>", access_log off
#   haproxy    nbthread W, http-reuse always, pool-max-conn UPSTREAM_IDLE_POOL, set-header, no log
#   (equal work: nginx and haproxy also add the forwarding headers m2m-proxy adds, DESIGN.md §4:
#   X-Forwarded-For appended to the client's list, X-Forwarded-Host, X-Forwarded-Proto,
#   X-Request-Id (the client's or a generated one) and Via; the preflight records the head each
#   target sends upstream through a copy of it pointed at Tests/Fixtures/upstream.py, and the report
#   lists them, so the equality is shown, not assumed)
#   m2m-proxy  release build, server.workers = W, access_log = false; one route with a credential
#              whose token comes from the in-repo token double (Tests/Fixtures/token_double.py,
#              set to answer the benchmark token with an expires_in of TOKEN_LIFETIME = 1 day);
#              limits.upstream_idle_connections = UPSTREAM_IDLE_POOL (see M2M_POOL_KEY)
# https upstream (TLS=1, the default; 1 worker, 200 B, TLS_CONNS): the upstream nginx also serves
# the 200 B body over TLS on UPSTREAM_TLS_PORT (certificates made at run time with openssl by
# Tests/Fixtures/make_tls_certs.sh: a test CA and a leaf for localhost), and:
#   direct-tls     wrk -> https upstream itself (wrk's own TLS, sending the token)
#   nginx-tls      1-worker nginx on NGINX_TLS_PORT, as nginx above but proxy_pass https:// with
#                  proxy_ssl_verify on (test CA), proxy_ssl_name localhost + SNI,
#                  proxy_ssl_session_reuse on, keepalive UPSTREAM_IDLE_POOL
#   m2m-proxy-tls  1-worker m2m-proxy on M2M_TLS_PORT, as above but its route's upstream is
#                  https://localhost:UPSTREAM_TLS_PORT with tls_ca_file (verified, SNI, session
#                  resumption, pooled like http)
# Own processes, so the http targets run exactly as without TLS; clients talk plain http to them.
# The upstream answers 401 unless the exact 900-byte token arrives (Benchmarks/gen-token.py), so
# only a really injected header counts; a preflight checks status and body of every target.
#
# Load matrix, each cell = one wrk run (-t WRK_THREADS, WARMUP s discarded, then DURATION s):
#   workers W in WORKERS (1 2) x body in BODIES (small = 200 B, big = 64 KiB) x
#   connections in CONNS (50 256) x target (direct only for the first W: it has no workers).
# Per cell: req/s, p50, p99 (wrk), peak RSS of the target's processes (VmHWM, reset before each
# cell through /proc/PID/clear_refs), CPU µs per request of the target's processes and of the
# upstream nginx (/proc/PID/stat utime+stime deltas), new upstream connections per 1000 requests.
# Then, separate short phases (1 worker, 200 B body):
#   syscalls   strace -c -f attached to each target (the -tls ones too, except direct-tls),
#              SYSCALL_REQUESTS requests over SYSCALL_CONNS keep-alive connections from
#              Benchmarks/kaclient.py (exact count)
#   instr      valgrind --tool=callgrind, m2m-proxy (objcopy --strip-debug copy) and nginx,
#              (Ir(N) - Ir(0)) / N with N = INSTR_REQUESTS over INSTR_CONNS connections; with
#              TLS=1 also m2m-proxy-tls and nginx-tls, as (Ir(W + N) - Ir(W)) / N after W =
#              INSTR_TLS_WARMUP warm-up requests in both runs, so that the upstream TLS handshakes
#              (one per pooled connection) are outside the difference (m2m-proxy gets
#              connect_timeout_ms = 60000 there: 50 handshakes under valgrind exceed 3 s)
#   rss        m2m-proxy RSS right after start (idle), idle after the load, and, on a fresh
#              instance, with IDLE_CONNS idle keep-alive clients (each served one request)
#   h2         HTTP/2 clients (h2load, prior knowledge) through m2m-proxy (1 worker) and an h2c nginx
#              (`listen ... http2`, same proxy_pass): interleaved rounds of req/s, p50/p99, CPU µs per
#              request, and callgrind instructions per request (Benchmarks/h2-phase.sh; needs h2load,
#              the nghttp2-client package; knobs H2_CONNS=10 H2_STREAMS=10 H2_INSTR_REQUESTS)
#   malloc     Benchmarks/malloc-count.sh when the tree has it (the workers branch's LD_PRELOAD
#              counter; it measures .build/release/m2m-proxy)
# CPU pinning (PIN=split, the shared harness's): wrk on CPU 0; the upstream and a 1-worker proxy on
# CPU 1. A 2-worker proxy gets CPUS_2W (default "1,2" with >= 3 cores; "0,1" on 2 cores, i.e.
# it shares CPU 0 with wrk and CPU 1 with the upstream: the report says so).
#
# Knobs (env): ROUNDS=3 DURATION=10 WARMUP=2 CONNS="50 256" WORKERS="1 2" BODIES="small big"
#   WRK_THREADS=1 PIN=split|proxy-alone|none CPUS_2W=... UPSTREAM_IDLE_POOL=64
#   M2M_POOL_KEY=limits.upstream_idle_connections (m2m-proxy's idle upstream pool cap, set to
#     UPSTREAM_IDLE_POOL so that all three proxies keep equal idle pools, which the 256-connection
#     rows need: with fewer idle slots than clients a proxy churns upstream connections. Used
#     only when `m2m-proxy check` accepts it (an older build keeps its built-in cap of 256 and the
#     report says so); empty = the built-in cap. route.max_upstream_connections is no substitute:
#     it caps busy + idle and queues the rest) TOKEN_LIFETIME=86400
#   TLS=1 (0 = no https rows) TLS_CONNS="50 256" (cells of CONNS that get https rows)
#   UPSTREAM_TLS_PORT=19002 NGINX_TLS_PORT=19041 M2M_TLS_PORT=19042
#   INSTR_TLS=1 (0 = no callgrind rows for the -tls targets) INSTR_TLS_WARMUP=2*INSTR_CONNS
#   PHASES="load syscalls instr h2 rss malloc" SYSCALL_REQUESTS=20000 SYSCALL_CONNS=50
#   INSTR_REQUESTS=20000 INSTR_CONNS=50 IDLE_CONNS=10000 MALLOC_REQUESTS=10000 MALLOC_CONNS=4
#   MALLOC_WARMUP=1000 (warm-up requests)
#   M2M_ROUTES=1 (routes in every m2m-proxy config: M2M_ROUTES - 1 path-prefix routes /r0, /r1, ...
#     that no benchmark request takes come before the benchmark route, which therefore matches
#     last; e.g. M2M_ROUTES=1000 PHASES=instr shows what matching costs as the table grows)
#   QUIET_MAX=0.25 QUIET_WAIT=180 QUIET_SAMPLE=1 NOISY_MAX=0.10 RETRY_NOISY=2 (noise gating: wait
#     for <= QUIET_MAX foreign cores before a cell, re-run a cell that saw > NOISY_MAX; QUIET_SAMPLE=0
#     skips the pre-run sample)
#   SKIP_INSTALL=1 (no apt) SKIP_BUILD=1 (use the existing binary) M2M_BIN=.build/release/m2m-proxy
#   LOCK_WAIT=900 (seconds to wait for another run of this script to finish: one run at a time)
#   RESULTS_DIR=/tmp/m2m-bench/results/<timestamp> (raw)  REPORT=Benchmarks/results/<date>.md
# Exit status: 0 all measured and clean; 1 setup failure; 2 a run saw non-2xx or socket errors;
#   3 the references were measured but m2m-proxy could not be (reason printed, rows still shown).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

for arg in "$@"; do
    case $arg in
        --quick) QUICK=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare: unknown argument '$arg' (--quick, --help)" >&2; exit 64 ;;
    esac
done
if [[ ${QUICK:-0} == 1 ]]; then
    # < 3 min on a busy 2-core VM: no warm-up per cell (each target is primed once instead), no
    # pre-run quiet sample (the load during each run is still recorded), no re-runs, shorter
    # strace/callgrind phases.
    : "${ROUNDS:=1}" "${DURATION:=3}" "${WARMUP:=0}" "${QUIET_WAIT:=0}" "${RETRY_NOISY:=0}" "${QUIET_SAMPLE:=0}"
    : "${SYSCALL_REQUESTS:=3000}" "${INSTR_REQUESTS:=3000}"
fi

# shellcheck source=Benchmarks/lib.sh
source "$HERE/lib.sh"

: "${QUICK:=0}" "${ROUNDS:=3}" "${CONNS:=50 256}" "${DURATION:=10}" "${WARMUP:=2}" "${WRK_THREADS:=1}"
: "${WORKERS:=1 2}" "${BODIES:=small big}" "${PHASES:=load syscalls instr h2 rss malloc}"
: "${PIN:=split}" "${QUIET_MAX:=0.25}" "${QUIET_WAIT:=180}" "${QUIET_SAMPLE:=1}" "${NOISY_MAX:=0.10}" "${RETRY_NOISY:=2}"
: "${SYSCALL_REQUESTS:=20000}" "${SYSCALL_CONNS:=50}" "${INSTR_REQUESTS:=20000}" "${INSTR_CONNS:=50}"
: "${LOCK_WAIT:=900}" "${IDLE_CONNS:=10000}" "${MALLOC_REQUESTS:=10000}" "${MALLOC_CONNS:=4}" "${MALLOC_WARMUP:=1000}" "${TOKEN_LIFETIME:=86400}"
: "${M2M_POOL_KEY=limits.upstream_idle_connections}"   # no colon: an explicit empty value means the built-in cap
: "${TLS:=1}" "${TLS_CONNS:=50 256}" "${INSTR_TLS:=1}"   # UPSTREAM_TLS_PORT: lib.sh
: "${M2M_ROUTES:=1}"
[[ $M2M_ROUTES =~ ^[1-9][0-9]*$ ]] || die "M2M_ROUTES must be a route count >= 1"
: "${RESULTS_DIR:=/tmp/m2m-bench/results/$(date +%Y%m%d-%H%M%S)}"
: "${REPORT:=$HERE/results/$(date -u +%Y-%m-%d-%H%M)$([[ $QUICK == 1 ]] && echo -quick).md}"
: "${M2M_BIN:=$ROOT/.build/release/m2m-proxy}"
# Ports: 1 worker keeps the old numbers (19011 nginx, 19012 haproxy, 19020 m2m-proxy).
: "${TOKEN_PORT:=19021}" "${VG_NGINX_PORT:=19031}" "${VG_M2M_PORT:=19032}" "${RSS_M2M_PORT:=19033}"
: "${NGINX_TLS_PORT:=19041}" "${M2M_TLS_PORT:=19042}"   # the -tls proxies (1 worker)
# The header capture (preflight): a recording upstream (plain, TLS) and one instance of each proxy
# pointed at it.
: "${HDR_UPSTREAM_PORT:=19051}" "${HDR_UPSTREAM_TLS_PORT:=19052}" "${HDR_NGINX_PORT:=19053}" "${HDR_HAPROXY_PORT:=19054}"
: "${HDR_M2M_PORT:=19055}" "${HDR_NGINX_TLS_PORT:=19056}" "${HDR_M2M_TLS_PORT:=19057}"
declare -A BASE_PORT=([nginx]=$NGINX_PROXY_PORT [haproxy]=$HAPROXY_PORT [m2m-proxy]=19020)
M2M=m2m-proxy     # target name in the tables
port_for() { echo $((BASE_PORT[$1] + 2 * ($2 - 1))); }   # port_for TARGET WORKERS
read -r -a WORKER_COUNTS <<<"$WORKERS"
read -r -a BODY_KINDS <<<"$BODIES"
phase() { [[ " $PHASES " == *" $1 "* ]]; }
[[ $TLS == 0 || $TLS == 1 ]] || die "TLS must be 0 or 1"
declare -A BODY_PATH=([small]=$REQ_PATH [big]=$BIG_PATH)
for b in "${BODY_KINDS[@]}"; do [[ -n ${BODY_PATH[$b]:-} ]] || die "BODIES: '$b' is not small or big"; done

NCPU=$(nproc)
declare -A PROXY_CPUS
case $PIN in
    split)       WRK_CPU=0;  UPSTREAM_CPU=1;  PROXY_CPUS[1]=1 ;;
    proxy-alone) WRK_CPU=0;  UPSTREAM_CPU=0;  PROXY_CPUS[1]=1 ;;
    none)        WRK_CPU=""; UPSTREAM_CPU=""; PROXY_CPUS[1]="" ;;
    *) die "PIN must be split, proxy-alone or none" ;;
esac
if [[ $PIN == none ]]; then : "${CPUS_2W:=}"; elif ((NCPU >= 3)); then : "${CPUS_2W:=1,2}"; else : "${CPUS_2W:=0,1}"; fi
for w in "${WORKER_COUNTS[@]}"; do [[ $w == 1 ]] || PROXY_CPUS[$w]=$CPUS_2W; done
((NCPU >= 2)) || [[ $PIN == none ]] || die "PIN=$PIN needs 2 cores; use PIN=none"

for w in "${WORKER_COUNTS[@]}"; do [[ $w =~ ^[1-9][0-9]*$ ]] || die "WORKERS: '$w' is not a worker count >= 1"; done
if ((TLS)) && [[ " $WORKERS " != *" 1 "* || " $BODIES " != *" small "* ]]; then
    log "the https rows are 1 worker, 200 B: WORKERS has no 1 or BODIES no small, so TLS=0"; TLS=0
fi

# One run at a time per machine: ports are fixed, and reap_stale stops every process an
# earlier run recorded, which would be a live run's processes if two overlapped;
# taken before the build, which would disturb a run in progress.
mkdir -p /tmp/m2m-bench
exec 8>/tmp/m2m-bench/lock
if ! flock -n 8; then
    log "another benchmark run holds /tmp/m2m-bench/lock; waiting up to ${LOCK_WAIT}s"
    flock -w "$LOCK_WAIT" 8 || die "another benchmark run still holds /tmp/m2m-bench/lock after ${LOCK_WAIT}s"
fi

# ---- deps + build --------------------------------------------------------------
if [[ ${SKIP_INSTALL:-0} != 1 ]]; then
    [[ $(id -u) == 0 ]] || die "run as root (installs Debian packages), or set SKIP_INSTALL=1"
    bash "$ROOT/scripts/install-deps.sh" bench >&2
fi
for tool in wrk curl python3 taskset setsid ss; do command -v "$tool" >/dev/null || die "$tool not installed"; done
[[ -x $NGINX_BIN ]] || die "nginx not found"
[[ -x $HAPROXY_BIN ]] || die "haproxy not found"
if phase syscalls; then command -v strace >/dev/null || die "strace not installed"; fi
if phase instr; then for tool in valgrind objcopy; do command -v "$tool" >/dev/null || die "$tool not installed"; done; fi

M2M_FAIL=""   # why m2m-proxy is not measured ("" = it is)
TLS_FAIL=""   # why m2m-proxy-tls is not measured while m2m-proxy is
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    mkdir -p /tmp/m2m-bench
    log "swift build -c release (log: /tmp/m2m-bench/build.log)"
    if ! (cd "$ROOT" && swift build -c release --static-swift-stdlib) >/tmp/m2m-bench/build.log 2>&1; then
        tail -n 20 /tmp/m2m-bench/build.log >&2
        M2M_FAIL="swift build -c release failed (see /tmp/m2m-bench/build.log)"
    fi
fi
[[ -n $M2M_FAIL || -x $M2M_BIN ]] || M2M_FAIL="$M2M_BIN not found"

STARTED_PIDS=()
STRACE_PID=""
# shellcheck disable=SC2317  # called through the trap
cleanup() {
    local rc=$?; trap - EXIT INT TERM
    [[ -n $STRACE_PID ]] && kill -INT "$STRACE_PID" 2>/dev/null && wait "$STRACE_PID" 2>/dev/null
    stop_all; exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- fresh state -----------------------------------------------------------------
reap_stale
PORTS=("$UPSTREAM_PORT" "$TOKEN_PORT")
if ((TLS)); then PORTS+=("$UPSTREAM_TLS_PORT" "$NGINX_TLS_PORT" "$M2M_TLS_PORT"); fi
for w in "${WORKER_COUNTS[@]}"; do for t in nginx haproxy $M2M; do PORTS+=("$(port_for "$t" "$w")"); done; done
phase instr && PORTS+=("$VG_NGINX_PORT" "$VG_M2M_PORT")
PORTS+=("$HDR_UPSTREAM_PORT" "$HDR_NGINX_PORT" "$HDR_HAPROXY_PORT" "$HDR_M2M_PORT")
if ((TLS)); then PORTS+=("$HDR_UPSTREAM_TLS_PORT" "$HDR_NGINX_TLS_PORT" "$HDR_M2M_TLS_PORT"); fi
phase rss && PORTS+=("$RSS_M2M_PORT")
for p in "${PORTS[@]}"; do require_free_port "$p"; done
rm -rf "$BENCH_DIR"; mkdir -p "$BENCH_DIR" "$RESULTS_DIR"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TOKEN=$(bench_token)
(umask 077; printf '%s' "$TOKEN" >"$BENCH_DIR/token")
export BENCH_TOKEN="$TOKEN"

# https upstream (TLS=1): the upstream nginx also serves TLS, with certificates made now.
if ((TLS)); then
    TLS_DIR=$BENCH_DIR/tls
    bash "$ROOT/Tests/Fixtures/make_tls_certs.sh" "$TLS_DIR" >"$BENCH_DIR/tls-certs.log" 2>&1 \
        || { tail -n 20 "$BENCH_DIR/tls-certs.log" >&2; die "Tests/Fixtures/make_tls_certs.sh failed"; }
else
    TLS_DIR=""
fi
render_upstream_conf "$BENCH_DIR/upstream" "$UPSTREAM_MODE"
check_nginx_conf "$BENCH_DIR/upstream"
for w in "${WORKER_COUNTS[@]}"; do
    NGINX_WORKER_PROCESSES=$w render_nginx_proxy_conf "$BENCH_DIR/nginx-w$w" "$(port_for nginx "$w")"
    check_nginx_conf "$BENCH_DIR/nginx-w$w"
    HAPROXY_THREADS=$w render_haproxy_conf "$BENCH_DIR/haproxy-w$w" "$(port_for haproxy "$w")"
    "$HAPROXY_BIN" -q -c -f "$BENCH_DIR/haproxy-w$w/haproxy.cfg" || die "haproxy -c failed for $w thread(s)"
done
if ((TLS)); then   # a 1-worker nginx of its own, so the http targets run exactly as without TLS
    NGINX_PROXY_TLS=1 render_nginx_proxy_conf "$BENCH_DIR/nginx-tls" "$NGINX_TLS_PORT"
    check_nginx_conf "$BENCH_DIR/nginx-tls"
fi

# m2m-proxy config: same upstream, same token, W event loops. The idle upstream pool cap is set
# through M2M_POOL_KEY ("section.key") when this build accepts it; otherwise the built-in cap
# applies and the report says so.
POOL_NOTE="built-in cap of 256 idle per upstream and worker (M2M_POOL_KEY is empty)"
m2m_conf() {  # m2m_conf PORT WORKERS [POOL_KEY] [http|tls] -> config text (tls: the https upstream)
    local port=$1 w=$2 key=${3:-} kind=${4:-http} limits_extra="" server_extra="" route_extra="" upstream tls_line=""
    if [[ -n $key ]]; then
        case ${key%%.*} in
            limits) limits_extra="${key#*.} = $UPSTREAM_IDLE_POOL" ;;
            server) server_extra="${key#*.} = $UPSTREAM_IDLE_POOL" ;;
            route)  route_extra="${key#*.} = $UPSTREAM_IDLE_POOL" ;;
            *) die "M2M_POOL_KEY must be limits.<key>, server.<key> or route.<key>" ;;
        esac
    fi
    upstream="http://127.0.0.1:$UPSTREAM_PORT"
    if [[ $kind == tls ]]; then
        upstream="https://localhost:$UPSTREAM_TLS_PORT"
        tls_line="tls_ca_file = \"$TLS_DIR/ca.pem\""
    fi
    cat <<EOF
# written by Benchmarks/compare.sh
[server]
listen = "127.0.0.1:$port"
workers = $w
admin_listen = ""
access_log = false          # nginx and haproxy log nothing either
$server_extra

[limits]
max_connections = $((IDLE_CONNS + 2000))   # the rss phase holds IDLE_CONNS idle clients
$limits_extra
${M2M_LIMITS_EXTRA:-}

[credential.bench]
token_url = "http://127.0.0.1:$TOKEN_PORT/oidc/token"
client_id = "bench-client"
client_secret = "bench-secret"
prefetch = true

$(for ((r = 0; r < M2M_ROUTES - 1; r++)); do printf '[[route]]\nname = "r%d"\npath_prefix = "/r%d"\nupstream = "%s"\n\n' "$r" "$r" "$upstream"; done)
[[route]]
name = "bench"
path_prefix = "/api"
upstream = "$upstream"
$tls_line
credential = "bench"
resource = "https://api.bench.invalid/items"
scopes = ["read:items"]
$route_extra
EOF
}
M2M_KEY_USED=""
if [[ -z $M2M_FAIL ]]; then
    m2m_conf 19099 1 >"$BENCH_DIR/m2m-check.conf"
    if ! "$M2M_BIN" check --config "$BENCH_DIR/m2m-check.conf" >"$BENCH_DIR/m2m-check.out" 2>&1; then
        M2M_FAIL="m2m-proxy check rejects the benchmark config: $(head -c 300 "$BENCH_DIR/m2m-check.out")"
    elif [[ -n $M2M_POOL_KEY ]]; then
        m2m_conf 19099 1 "$M2M_POOL_KEY" >"$BENCH_DIR/m2m-check.conf"
        if "$M2M_BIN" check --config "$BENCH_DIR/m2m-check.conf" >"$BENCH_DIR/m2m-check.out" 2>&1; then
            M2M_KEY_USED=$M2M_POOL_KEY; POOL_NOTE="$M2M_POOL_KEY = $UPSTREAM_IDLE_POOL per worker"
        else
            POOL_NOTE="built-in cap: this build rejects $M2M_POOL_KEY ($(head -n 1 "$BENCH_DIR/m2m-check.out"))"
            log "m2m-proxy: $POOL_NOTE"
        fi
    fi
    for w in "${WORKER_COUNTS[@]}"; do
        m2m_conf "$(port_for $M2M "$w")" "$w" "$M2M_KEY_USED" >"$BENCH_DIR/m2m-w$w.conf"
    done
    if ((TLS)); then m2m_conf "$M2M_TLS_PORT" 1 "$M2M_KEY_USED" tls >"$BENCH_DIR/m2m-tls.conf"; fi
fi

# ---- servers -----------------------------------------------------------------------
# Instances are "<target>:<workers>"; direct:1 is the upstream itself.
declare -A PGID PORT
start_nginx() { start_server "$1" "$2" "$NGINX_BIN" -p "$BENCH_DIR/$1" -c "$BENCH_DIR/$1/nginx.conf" -e "$BENCH_DIR/$1/error.log"; }
start_nginx upstream "$UPSTREAM_CPU"; PGID[direct:1]=${STARTED_PIDS[-1]#*:}; PORT[direct:1]=$UPSTREAM_PORT
INSTANCES=(direct:1)
for w in "${WORKER_COUNTS[@]}"; do
    start_nginx "nginx-w$w" "${PROXY_CPUS[$w]}"
    PGID[nginx:$w]=${STARTED_PIDS[-1]#*:}; PORT[nginx:$w]=$(port_for nginx "$w")
    start_server "haproxy-w$w" "${PROXY_CPUS[$w]}" "$HAPROXY_BIN" -db -f "$BENCH_DIR/haproxy-w$w/haproxy.cfg"
    PGID[haproxy:$w]=${STARTED_PIDS[-1]#*:}; PORT[haproxy:$w]=$(port_for haproxy "$w")
    INSTANCES+=("nginx:$w" "haproxy:$w")
done
if ((TLS)); then
    # direct-tls is the upstream nginx's TLS server; nginx-tls a 1-worker proxy of its own
    PGID[direct-tls:1]=${PGID[direct:1]}; PORT[direct-tls:1]=$UPSTREAM_TLS_PORT
    start_nginx nginx-tls "${PROXY_CPUS[1]}"; PGID[nginx-tls:1]=${STARTED_PIDS[-1]#*:}; PORT[nginx-tls:1]=$NGINX_TLS_PORT
fi
for i in "${INSTANCES[@]}" $( ((TLS == 0)) || echo direct-tls:1 nginx-tls:1); do
    wait_port "${PORT[$i]}" 30 "${PGID[$i]}" || { tail -n 20 "$BENCH_DIR/logs/"*.out >&2 || true; die "$i did not listen on ${PORT[$i]}"; }
done

m2m_give_up() {  # m2m_give_up REASON: stop m2m-proxy, go on with the references
    local w
    M2M_FAIL=$1
    log "m2m-proxy NOT MEASURED: $M2M_FAIL"
    for w in "${WORKER_COUNTS[@]}"; do
        if [[ -f $BENCH_DIR/logs/m2m-w$w.out ]]; then
            log "m2m-proxy ($w worker(s)) output (last 15 lines):"; tail -n 15 "$BENCH_DIR/logs/m2m-w$w.out" | sed 's/^/    /' >&2
        fi
        stop_server "m2m-w$w"
    done
    stop_server m2m-tls
}

if [[ -z $M2M_FAIL ]]; then
    # The in-repo token double, told to answer every token request with the benchmark token.
    start_server token-double "$UPSTREAM_CPU" python3 "$ROOT/Tests/Fixtures/token_double.py" \
        --port "$TOKEN_PORT" --log "$BENCH_DIR/token-requests.jsonl"
    tdp=${STARTED_PIDS[-1]#*:}
    wait_port "$TOKEN_PORT" 15 "$tdp" || die "token double did not listen on $TOKEN_PORT"
    python3 -c 'import json, sys
tok = open(sys.argv[1]).read()
body = json.dumps({"access_token": tok, "token_type": "Bearer", "expires_in": int(sys.argv[2])})
print(json.dumps({"status": 200, "body": body}))' "$BENCH_DIR/token" "$TOKEN_LIFETIME" >"$BENCH_DIR/token-mode.json"
    curl -sf -o /dev/null -X POST --data-binary @"$BENCH_DIR/token-mode.json" "http://127.0.0.1:$TOKEN_PORT/_mode" \
        || die "token double: POST /_mode failed"
    for w in "${WORKER_COUNTS[@]}"; do
        start_server "m2m-w$w" "${PROXY_CPUS[$w]}" "$M2M_BIN" --config "$BENCH_DIR/m2m-w$w.conf"
        PGID[$M2M:$w]=${STARTED_PIDS[-1]#*:}; PORT[$M2M:$w]=$(port_for $M2M "$w")
        if ! wait_port "${PORT[$M2M:$w]}" 15 "${PGID[$M2M:$w]}"; then
            if kill -0 "${PGID[$M2M:$w]}" 2>/dev/null; then
                m2m_give_up "it ($w worker(s)) did not listen on 127.0.0.1:${PORT[$M2M:$w]} within 15 s"
            else
                m2m_give_up "it ($w worker(s)) exited before listening on 127.0.0.1:${PORT[$M2M:$w]}"
            fi
            break
        fi
    done
    if [[ -z $M2M_FAIL ]] && ((TLS)); then
        start_server m2m-tls "${PROXY_CPUS[1]}" "$M2M_BIN" --config "$BENCH_DIR/m2m-tls.conf"
        PGID[$M2M-tls:1]=${STARTED_PIDS[-1]#*:}; PORT[$M2M-tls:1]=$M2M_TLS_PORT
        if ! wait_port "$M2M_TLS_PORT" 15 "${PGID[$M2M-tls:1]}"; then
            TLS_FAIL="it did not listen on 127.0.0.1:$M2M_TLS_PORT within 15 s"
            log "$M2M-tls NOT MEASURED: $TLS_FAIL"; tail -n 15 "$BENCH_DIR/logs/m2m-tls.out" | sed 's/^/    /' >&2
            stop_server m2m-tls; unset "PGID[$M2M-tls:1]"
        fi
    fi
fi

# ---- preflight: the header really arrives, the body is the fixture -------------------
AUTH_ARGS=()
[[ $UPSTREAM_MODE == auth ]] && AUTH_ARGS=(-H "Authorization: Bearer $TOKEN")
printf '%s' "$BODY_JSON" >"$BENCH_DIR/want-small"
big_body >"$BENCH_DIR/want-big"
# direct-tls is the only https URL (wrk and curl do not verify it); the proxies listen on http.
base_url() { if [[ $1 == direct-tls:* ]]; then echo "https://127.0.0.1:${PORT[$1]}"; else echo "http://127.0.0.1:${PORT[$1]}"; fi; }
target_args() {  # target_args INSTANCE -> sets ARGS: the request headers wrk and curl send (the token, for direct)
    ARGS=()
    if [[ $1 == direct:* || $1 == direct-tls:* ]]; then ARGS=("${AUTH_ARGS[@]}"); fi
}
probe() {  # probe NAME PORT PATH curl-args...  -> HTTP code
    local name=$1 port=$2 path=$3; shift 3
    curl -s -o "$BENCH_DIR/probe-$name.body" -w '%{http_code}' --max-time 5 "$@" "http://127.0.0.1:$port$path" || echo 000
}
preflight() {  # preflight INSTANCE -> "" when fine, else the reason
    local i=$1 b code bodies=(small big)
    target_args "$i"
    [[ $i == *-tls:* ]] && bodies=(small)   # the TLS server has the 200 B body only
    for b in "${bodies[@]}"; do
        code=$(curl -sk -o "$BENCH_DIR/probe-${i%%:*}-$b.body" -w '%{http_code}' --max-time 5 "${ARGS[@]}" \
            "$(base_url "$i")${BODY_PATH[$b]}" || echo 000)
        if [[ $code != 200 ]]; then echo "$b body: HTTP $code (want 200; 401 = the upstream did not get 'Bearer <token>')"; return; fi
        cmp -s "$BENCH_DIR/probe-${i%%:*}-$b.body" "$BENCH_DIR/want-$b" || { echo "$b body: differs from the upstream's fixture"; return; }
    done
}
if [[ $UPSTREAM_MODE == auth ]]; then
    code=$(probe direct-noauth "$UPSTREAM_PORT" "$REQ_PATH")
    [[ $code == 401 ]] || die "upstream auth check inactive: request without token got $code (want 401)"
    code=$(probe direct-badauth "$UPSTREAM_PORT" "$BIG_PATH" -H "Authorization: Bearer wrong")
    [[ $code == 401 ]] || die "upstream auth check inactive: wrong token got $code (want 401)"
fi
for i in "${INSTANCES[@]}"; do
    why=$(preflight "$i"); [[ -z $why ]] || die "preflight $i: $why"
    log "preflight $i: 200, bodies ok"
done
if [[ -z $M2M_FAIL ]]; then
    for w in "${WORKER_COUNTS[@]}"; do
        why=$(preflight "$M2M:$w")
        if [[ -n $why ]]; then m2m_give_up "preflight ($w worker(s)): $why"; break; fi
        log "preflight $M2M:$w: 200, bodies ok"
    done
    [[ -n $M2M_FAIL ]] || for w in "${WORKER_COUNTS[@]}"; do INSTANCES+=("$M2M:$w"); done
fi
# https upstream rows (1 worker, 200 B)
if ((TLS)); then
    TLS_INSTANCES=(direct-tls:1 nginx-tls:1)
    [[ -n $M2M_FAIL || -n $TLS_FAIL ]] || TLS_INSTANCES+=("$M2M-tls:1")
    for i in "${TLS_INSTANCES[@]}"; do
        why=$(preflight "$i")
        if [[ -z $why ]]; then
            log "preflight $i: 200, body ok"; INSTANCES+=("$i")
        elif [[ $i == "$M2M-tls:1" ]]; then
            TLS_FAIL="preflight: $why"; log "$M2M-tls NOT MEASURED: $TLS_FAIL"
            stop_server m2m-tls; unset "PGID[$M2M-tls:1]"
        else
            die "preflight $i: $why"
        fi
    done
fi

# ---- which headers each target sends upstream, recorded (not asserted) -----------------------
# One request (curl with only Host, plus the token for direct: what wrk sends) through a copy of
# each proxy whose upstream is the recording fixture Tests/Fixtures/upstream.py; the report lists
# the recorded head of each. The copies are configured exactly as the measured targets, only the
# upstream port differs.
HDR_LOG=$BENCH_DIR/upstream-headers.jsonl
HDR_TSV=$RESULTS_DIR/headers.tsv
printf 'target\tstatus\theaders\n' >"$HDR_TSV"
capture_headers() {  # capture_headers TARGET URL [curl args...] -> one headers.tsv row
    local t=$1 url=$2 before code; shift 2
    before=$(wc -l <"$HDR_LOG" 2>/dev/null || echo 0)
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 20 -H 'User-Agent:' -H 'Accept:' "$@" "$url" || echo 000)
    python3 -c 'import json, sys
log, before, t, code = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
try:
    lines = open(log).read().splitlines()[before:]
except OSError:
    lines = []
heads = [json.loads(x)["headers"] for x in lines if x.startswith("{") and "headers" in x]
print(f"{t}\t{code}\t{json.dumps(heads[-1] if heads else None)}")' "$HDR_LOG" "$before" "$t" "$code" >>"$HDR_TSV"
    log "headers $t: HTTP $code, $(tail -n 1 "$HDR_TSV" | cut -f3 | head -c 300)"
}
start_server hdr-upstream "" python3 "$ROOT/Tests/Fixtures/upstream.py" --port "$HDR_UPSTREAM_PORT" --log "$HDR_LOG"
wait_port "$HDR_UPSTREAM_PORT" 15 "${STARTED_PIDS[-1]#*:}" || die "the recording upstream did not listen on $HDR_UPSTREAM_PORT"
UPSTREAM_PORT=$HDR_UPSTREAM_PORT render_nginx_proxy_conf "$BENCH_DIR/nginx-hdr" "$HDR_NGINX_PORT"
UPSTREAM_PORT=$HDR_UPSTREAM_PORT HAPROXY_THREADS=1 render_haproxy_conf "$BENCH_DIR/haproxy-hdr" "$HDR_HAPROXY_PORT"
start_nginx nginx-hdr ""; wait_port "$HDR_NGINX_PORT" 15 "${STARTED_PIDS[-1]#*:}" || die "nginx-hdr did not listen"
start_server haproxy-hdr "" "$HAPROXY_BIN" -db -f "$BENCH_DIR/haproxy-hdr/haproxy.cfg"
wait_port "$HDR_HAPROXY_PORT" 15 "${STARTED_PIDS[-1]#*:}" || die "haproxy-hdr did not listen"
capture_headers direct "http://127.0.0.1:$HDR_UPSTREAM_PORT$REQ_PATH" -H "Authorization: Bearer $TOKEN"
capture_headers nginx "http://127.0.0.1:$HDR_NGINX_PORT$REQ_PATH"
capture_headers haproxy "http://127.0.0.1:$HDR_HAPROXY_PORT$REQ_PATH"
if [[ -z $M2M_FAIL ]]; then
    UPSTREAM_PORT=$HDR_UPSTREAM_PORT m2m_conf "$HDR_M2M_PORT" 1 "$M2M_KEY_USED" >"$BENCH_DIR/m2m-hdr.conf"
    start_server m2m-hdr "" "$M2M_BIN" --config "$BENCH_DIR/m2m-hdr.conf"
    if wait_port "$HDR_M2M_PORT" 15 "${STARTED_PIDS[-1]#*:}"; then
        capture_headers $M2M "http://127.0.0.1:$HDR_M2M_PORT$REQ_PATH"
    else
        log "headers $M2M: the capture instance did not listen"
    fi
fi
if ((TLS)); then
    start_server hdr-upstream-tls "" python3 "$ROOT/Tests/Fixtures/upstream.py" --port "$HDR_UPSTREAM_TLS_PORT" --log "$HDR_LOG" \
        --tls-cert "$TLS_DIR/server.pem" --tls-key "$TLS_DIR/server.key"
    wait_port "$HDR_UPSTREAM_TLS_PORT" 15 "${STARTED_PIDS[-1]#*:}" || die "the recording TLS upstream did not listen on $HDR_UPSTREAM_TLS_PORT"
    capture_headers direct-tls "https://127.0.0.1:$HDR_UPSTREAM_TLS_PORT$REQ_PATH" -H "Authorization: Bearer $TOKEN"
    UPSTREAM_TLS_PORT=$HDR_UPSTREAM_TLS_PORT NGINX_PROXY_TLS=1 render_nginx_proxy_conf "$BENCH_DIR/nginx-tls-hdr" "$HDR_NGINX_TLS_PORT"
    start_nginx nginx-tls-hdr ""; wait_port "$HDR_NGINX_TLS_PORT" 15 "${STARTED_PIDS[-1]#*:}" || die "nginx-tls-hdr did not listen"
    capture_headers nginx-tls "http://127.0.0.1:$HDR_NGINX_TLS_PORT$REQ_PATH"
    if [[ -z $M2M_FAIL && -z $TLS_FAIL ]]; then
        UPSTREAM_TLS_PORT=$HDR_UPSTREAM_TLS_PORT m2m_conf "$HDR_M2M_TLS_PORT" 1 "$M2M_KEY_USED" tls >"$BENCH_DIR/m2m-tls-hdr.conf"
        start_server m2m-tls-hdr "" "$M2M_BIN" --config "$BENCH_DIR/m2m-tls-hdr.conf"
        if wait_port "$HDR_M2M_TLS_PORT" 15 "${STARTED_PIDS[-1]#*:}"; then
            capture_headers $M2M-tls "http://127.0.0.1:$HDR_M2M_TLS_PORT$REQ_PATH"
        else
            log "headers $M2M-tls: the capture instance did not listen"
        fi
    fi
fi
for s in m2m-tls-hdr nginx-tls-hdr hdr-upstream-tls m2m-hdr haproxy-hdr nginx-hdr hdr-upstream; do stop_server "$s"; done

pids_of() { pgrep -g "$1" 2>/dev/null || true; }
group_status_kb() {  # group_status_kb PGID FIELD(VmRSS|VmHWM) -> sum over the group's processes, kB
    local p sum=0 v
    for p in $(pids_of "$1"); do
        v=$(awk -v f="$2:" '$1 == f {print $2}' "/proc/$p/status" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
HWM_RESET=1
reset_hwm() {  # peak RSS counts from now on (Linux >= 4.0: "5" > clear_refs resets VmHWM)
    local p
    for p in $(pids_of "$1"); do { echo 5 >"/proc/$p/clear_refs"; } 2>/dev/null || HWM_RESET=0; done
}
reset_hwm "${PGID[direct:1]}"   # once here: one_attempt runs in a subshell

RSS_TSV="$RESULTS_DIR/rss.tsv"
printf 'what\ttarget\tworkers\tconns\trss_kb\n' >"$RSS_TSV"
if [[ -z $M2M_FAIL ]] && phase rss; then
    # Idle: started, token fetched, one preflight per body served, nothing else.
    for w in "${WORKER_COUNTS[@]}"; do
        printf 'idle\t%s\t%s\t0\t%s\n' "$M2M" "$w" "$(group_status_kb "${PGID[$M2M:$w]}" VmRSS)" >>"$RSS_TSV"
    done
fi
for i in "${INSTANCES[@]}"; do
    [[ $i == direct:* || $i == direct-tls:* ]] || printf 'idle-start\t%s\t%s\t0\t%s\n' "${i%%:*}" "${i#*:}" "$(group_status_kb "${PGID[$i]}" VmRSS)" >>"$RSS_TSV"
done

# ---- measure: wrk, interleaved rounds ---------------------------------------------------
mapfile -t ALL_PGIDS < <(for i in "${!PGID[@]}"; do kill -0 "${PGID[$i]}" 2>/dev/null && echo "${PGID[$i]}"; done; [[ -n ${tdp:-} ]] && echo "$tdp")
wrk_cmd() { if [[ -n $WRK_CPU ]]; then taskset -c "$WRK_CPU" wrk "$@"; else wrk "$@"; fi; }
client_cmd() { if [[ -n $WRK_CPU ]]; then taskset -c "$WRK_CPU" "$@"; else "$@"; fi; }

wait_quiet() {  # -> foreign cores before the run (0 without a sample: QUIET_SAMPLE=0)
    local waited=0 f
    [[ $QUIET_SAMPLE == 0 ]] && { echo 0; return; }
    while :; do
        f=$(foreign_load "$QUIET_SAMPLE" "${ALL_PGIDS[@]}")
        if awk -v f="$f" -v m="$QUIET_MAX" 'BEGIN{exit !(f<=m)}'; then echo "$f"; return; fi
        if ((waited >= QUIET_WAIT)); then ((QUIET_WAIT == 0)) || log "still ${f} cores of foreign load after ${waited}s; measuring anyway"; echo "$f"; return; fi
        ((waited == 0)) && log "foreign load ${f} cores > ${QUIET_MAX}; waiting (max ${QUIET_WAIT}s)"
        sleep 4; waited=$((waited + 5))
    done
}

TSV="$RESULTS_DIR/runs.tsv"
COLS=(round workers conns body target rps p50_us p90_us p99_us mean_us max_us requests non2xx err_connect err_read
      err_write err_timeout cpu0_busy cpu1_busy steal foreign_before foreign_during server_cores wrk_cores new_conns
      target_cpu_us_per_req upstream_cpu_us_per_req peak_rss_kb)
(IFS=$'\t'; echo "${COLS[*]}") >"$TSV"
col() { local i; for i in "${!COLS[@]}"; do [[ ${COLS[$i]} == "$1" ]] && { echo $((i + 1)); return; }; done; die "no column $1"; }
C_FOREIGN=$(col foreign_during)

one_attempt() {  # one_attempt ROUND WORKERS CONNS BODY INSTANCE -> prints one runs.tsv row
    local r=$1 w=$2 c=$3 b=$4 i=$5 t=${5%%:*} url fb a bb oa ob ca cb ta tb ua ub out res wt hwm ARGS args
    url="$(base_url "$i")${BODY_PATH[$b]}"
    target_args "$i"; args=("${ARGS[@]}")
    fb=$(wait_quiet)
    [[ $WARMUP == 0 ]] || wrk_cmd -t"$WRK_THREADS" -c"$c" -d"${WARMUP}s" "${args[@]}" "$url" >/dev/null
    reset_hwm "${PGID[$i]}"
    a=$(cpu_snap); oa=$(group_ticks "${ALL_PGIDS[@]}"); ca=$(tcp_active_opens)
    ta=$(group_ticks "${PGID[$i]}"); ua=$(group_ticks "${PGID[direct:1]}")
    out=$( { wrk_cmd -t"$WRK_THREADS" -c"$c" -d"${DURATION}s" --latency -s "$HERE/report.lua" "${args[@]}" "$url"; times; } 2>&1 )
    bb=$(cpu_snap); ob=$(group_ticks "${ALL_PGIDS[@]}"); cb=$(tcp_active_opens)
    tb=$(group_ticks "${PGID[$i]}"); ub=$(group_ticks "${PGID[direct:1]}")
    hwm=$(group_status_kb "${PGID[$i]}" VmHWM)
    printf '%s\n' "$out" >>"$RESULTS_DIR/wrk-r$r-w$w-c$c-$b-$t.txt"
    res=$(grep '^WRKRESULT' <<<"$out") || { log "wrk output unparsable for $i:"; printf '%s\n' "$out" >&2; return 1; }
    wt=$(tail -n 1 <<<"$out")
    awk -v r="$r" -v w="$w" -v c="$c" -v bd="$b" -v t="$t" -v res="$res" -v a="$a" -v b="$bb" -v oa="$oa" -v ob="$ob" -v hz="$CLK_TCK" \
        -v wt="$wt" -v ncpu="$NCPU" -v fb="$fb" -v nc=$((cb - ca - c)) -v tt=$((tb - ta)) -v ut=$((ub - ua)) -v hwm="$hwm" 'BEGIN {
        n = split(res, kv, " "); for (k = 2; k <= n; k++) { split(kv[k], p, "="); R[p[1]] = p[2] }
        split(a, A, " "); split(b, B, " ");
        split(wt, W, " "); wc = 0; for (k = 1; k <= 2; k++) { split(W[k], m, /[ms]/); wc += m[1]*60 + m[2] }
        el = 0; for (k = 2; k <= 5; k++) el += B[k] - A[k];
        secs = el / hz / ncpu;
        for (j = 0; j < 2; j++) { o = 6 + 5*j; bz = (B[o+1]-A[o+1]) + (B[o+2]-A[o+2]); tot = bz + (B[o+3]-A[o+3]);
            cu[j] = tot > 0 ? bz / tot : 0 }
        steal = (B[5]-A[5]) / hz / secs;
        srv = (ob-oa) / hz / secs;
        fd = ((B[2]-A[2]) - (ob-oa)) / hz / secs - wc / secs; if (fd < 0) fd = 0;
        rq = R["requests"] > 0 ? R["requests"] : 1
        printf "%s\t%s\t%s\t%s\t%s\t%.0f\t%d\t%d\t%d\t%.0f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t%s\t%.2f\t%.2f\t%.2f\t%d\t%.2f\t%.2f\t%d\n",
            r, w, c, bd, t, R["rps"], R["p50_us"], R["p90_us"], R["p99_us"], R["mean_us"], R["max_us"], R["requests"],
            R["non2xx3xx"], R["err_connect"], R["err_read"], R["err_write"], R["err_timeout"],
            cu[0], cu[1], steal, fb, fd, srv, wc / secs, nc,
            tt / hz * 1e6 / rq, ut / hz * 1e6 / rq, hwm }'
}

one_run() {  # re-measure (up to RETRY_NOISY times) when foreign load hit the run; keep the quietest
    local row best="" try
    for ((try = 0; try <= RETRY_NOISY; try++)); do
        row=$(one_attempt "$@")
        if [[ -z $best ]] || awk -v a="$row" -v b="$best" -v k="$C_FOREIGN" 'BEGIN { split(a, A, "\t"); split(b, B, "\t"); exit !(A[k] < B[k]) }'; then
            best=$row
        fi
        awk -v a="$row" -v m="$NOISY_MAX" -v k="$C_FOREIGN" 'BEGIN { split(a, A, "\t"); exit !(A[k] > m) }' || break
        printf '%s\n' "$row" >>"$RESULTS_DIR/noisy-attempts.tsv"
        ((try < RETRY_NOISY)) && log "round $1 w=$2 c=$3 $4 $5: $(cut -f"$C_FOREIGN" <<<"$row") cores of foreign load during the run; measuring again"
    done
    printf '%s\n' "$best" >>"$TSV"
    log "$(tail -n 1 "$TSV" | awk -F'\t' '{printf "round %s w=%s c=%-3s %-5s %-9s %7s req/s p50 %sus p99 %sus cpu %sus/req rss %sMB non2xx=%s errs=%s/%s/%s/%s foreign=%s/%s", $1,$2,$3,$4,$5,$6,$7,$9,$26,int($28/1024),$13,$14,$15,$16,$17,$21,$22}')"
}

if phase load; then
    log "instances: ${INSTANCES[*]}; workers: $WORKERS; bodies: $BODIES; conns: $CONNS; rounds: $ROUNDS; ${WARMUP}s warm-up + ${DURATION}s each"
    log "PIN=$PIN: wrk cpu ${WRK_CPU:-any}, upstream cpu ${UPSTREAM_CPU:-any}, 1-worker proxies cpu ${PROXY_CPUS[1]:-any}, 2-worker proxies cpus ${CPUS_2W:-any}"
    if [[ $WARMUP == 0 ]]; then
        # No warm-up per cell (--quick): prime every target once instead, so that no cell pays
        # the cold start (first upstream connects, first-touch of buffers: a 70 ms p99 for
        # m2m-proxy's first cell when measured cold).
        maxc=$(tr ' ' '\n' <<<"$CONNS" | sort -n | tail -n 1)
        for i in "${INSTANCES[@]}"; do
            target_args "$i"
            # the small body only: a 64 KiB prime would leave grown buffers in the peak RSS of
            # the small-body cells that come first
            wrk_cmd -t"$WRK_THREADS" -c"$maxc" -d1s "${ARGS[@]}" "$(base_url "$i")$REQ_PATH" >/dev/null
        done
        log "primed every target: 1 s of wrk at $maxc connections, 200 B body"
    fi
    for ((r = 1; r <= ROUNDS; r++)); do
        for w in "${WORKER_COUNTS[@]}"; do
            for b in "${BODY_KINDS[@]}"; do
                for c in $CONNS; do
                    for i in "${INSTANCES[@]}"; do
                        [[ ${i#*:} == "$w" || ($i == direct:1 && $w == "${WORKER_COUNTS[0]}") ]] || continue
                        # https rows: 1 worker, 200 B, TLS_CONNS only
                        [[ $i != *-tls:* || ($b == small && " $TLS_CONNS " == *" $c "*) ]] || continue
                        one_run "$r" "$w" "$c" "$b" "$i"
                    done
                done
            done
        done
    done
    for i in "${INSTANCES[@]}"; do kill -0 "${PGID[$i]}" 2>/dev/null || die "$i (pid ${PGID[$i]}) died during the benchmark"; done
fi

# ---- syscalls per proxied request (strace -c -f) ------------------------------------------
SYS_TSV="$RESULTS_DIR/syscalls.tsv"
printf 'target\trequests\tconns\tsyscalls\tper_request\ttop\n' >"$SYS_TSV"
traced() {  # traced PGID: every thread of every process in the group has a tracer
    local p
    for p in $(pids_of "$1"); do
        awk '$1 == "TracerPid:" && $2 == 0 {z = 1} END {exit z}' /proc/"$p"/task/*/status 2>/dev/null || return 1
    done
}
strace_one() {  # strace_one INSTANCE
    local i=$1 t=${1%%:*} out="$RESULTS_DIR/strace-${1%%:*}.txt" p k pargs=() hdr=()
    for p in $(pids_of "${PGID[$i]}"); do pargs+=(-p "$p"); done
    [[ $t == direct ]] && hdr=(--header "Authorization: Bearer $TOKEN")
    strace -c -f -qq -o "$out" "${pargs[@]}" 2>"$RESULTS_DIR/strace-$t.err" &
    STRACE_PID=$!
    for ((k = 0; k < 200; k++)); do  # ready when every thread of the target has a tracer
        traced "${PGID[$i]}" && break
        sleep 0.05
    done
    client_cmd python3 "$HERE/kaclient.py" --port "${PORT[$i]}" --conns "$SYSCALL_CONNS" --requests "$SYSCALL_REQUESTS" \
        "${hdr[@]}" >"$RESULTS_DIR/strace-$t.client" 2>&1 || log "syscalls $t: client failed: $(cat "$RESULTS_DIR/strace-$t.client")"
    kill -INT "$STRACE_PID"; wait "$STRACE_PID" || true; STRACE_PID=""
    awk -v t="$t" -v n="$SYSCALL_REQUESTS" -v c="$SYSCALL_CONNS" '
        $NF == "total" { total = $4 }
        $1 ~ /^[0-9.]+$/ && $NF != "total" { calls[$NF] = $4 }
        END {
            top = ""; for (k = 0; k < 5; k++) { best = ""; for (s in calls) if (best == "" || calls[s] > calls[best]) best = s
                if (best == "") break; top = top (top == "" ? "" : ", ") sprintf("%s %.2f", best, calls[best] / n); delete calls[best] }
            printf "%s\t%d\t%d\t%d\t%.2f\t%s\n", t, n, c, total, total / n, top }' "$out" >>"$SYS_TSV"
    log "syscalls $t: $(tail -n 1 "$SYS_TSV" | cut -f5) per request ($(tail -n 1 "$SYS_TSV" | cut -f6))"
}
if phase syscalls; then
    for i in "${INSTANCES[@]}"; do
        [[ ${i#*:} == 1 && $i != direct-tls:* ]] || continue   # (kaclient speaks plain http only)
        # warm the idle upstream pool at this client count, so no connect lands in the counted run
        hdr=(); [[ $i == direct:* ]] && hdr=(--header "Authorization: Bearer $TOKEN")
        client_cmd python3 "$HERE/kaclient.py" --port "${PORT[$i]}" --conns "$SYSCALL_CONNS" --requests $((SYSCALL_CONNS * 20)) \
            "${hdr[@]}" >/dev/null 2>&1 || true
        strace_one "$i"
    done
fi

# ---- instructions per proxied request (callgrind) --------------------------------------------
INSTR_TSV="$RESULTS_DIR/instr.tsv"
printf 'target\trequests\tconns\tir_0\tir_n\tper_request\twarmup\n' >"$INSTR_TSV"
VG_WARMUP=0  # requests sent before the counted ones, in both runs
vg_measure() {  # vg_measure NAME PORT NREQ CMD... -> total Ir of the run
    local name=$1 port=$2 n=$3 out pid ir; shift 3
    out="$RESULTS_DIR/callgrind.$name.$n.out"
    start_server "vg-$name-$n" "${PROXY_CPUS[1]}" valgrind --tool=callgrind --callgrind-out-file="$out" "$@"
    pid=${STARTED_PIDS[-1]#*:}
    wait_port "$port" 120 "$pid" || { tail -n 20 "$BENCH_DIR/logs/vg-$name-$n.out" >&2; log "instr $name: did not listen on $port"; return 1; }
    if ((VG_WARMUP > 0)); then
        client_cmd python3 "$HERE/kaclient.py" --port "$port" --conns "$INSTR_CONNS" --requests "$VG_WARMUP" \
            >"$RESULTS_DIR/instr-$name.warmup.client" 2>&1 \
            || { log "instr $name: warm-up failed: $(cat "$RESULTS_DIR/instr-$name.warmup.client")"; stop_server "vg-$name-$n"; return 1; }
    fi
    client_cmd python3 "$HERE/kaclient.py" --port "$port" --conns "$INSTR_CONNS" --requests "$n" >"$RESULTS_DIR/instr-$name.$n.client" 2>&1 \
        || { log "instr $name: client failed: $(cat "$RESULTS_DIR/instr-$name.$n.client")"; stop_server "vg-$name-$n"; return 1; }
    stop_server "vg-$name-$n"
    ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out" 2>/dev/null || true)
    [[ -n $ir ]] || { tail -n 20 "$BENCH_DIR/logs/vg-$name-$n.out" >&2; log "instr $name: no callgrind totals in $out"; return 1; }
    echo "$ir"
}
instr_one() {  # instr_one NAME PORT CMD...
    local name=$1 port=$2 i0 in; shift 2
    log "instr $name: callgrind, ${VG_WARMUP} warm-up requests, then 0 or $INSTR_REQUESTS requests over $INSTR_CONNS connections"
    i0=$(vg_measure "$name" "$port" 0 "$@") && in=$(vg_measure "$name" "$port" "$INSTR_REQUESTS" "$@") || return 0
    awk -v t="$name" -v n="$INSTR_REQUESTS" -v c="$INSTR_CONNS" -v a="$i0" -v b="$in" -v wu="$VG_WARMUP" \
        'BEGIN { printf "%s\t%d\t%d\t%d\t%d\t%.0f\t%d\n", t, n, c, a, b, (b - a) / n, wu }' >>"$INSTR_TSV"
    log "instr $name: $(tail -n 1 "$INSTR_TSV" | cut -f6) instructions per request"
}
if phase instr; then
    NGINX_PROXY_PORT=$VG_NGINX_PORT render_nginx_proxy_conf "$BENCH_DIR/nginx-vg" "$VG_NGINX_PORT" "master_process off;"
    check_nginx_conf "$BENCH_DIR/nginx-vg"
    instr_one nginx "$VG_NGINX_PORT" "$NGINX_BIN" -p "$BENCH_DIR/nginx-vg" -c "$BENCH_DIR/nginx-vg/nginx.conf" -e "$BENCH_DIR/nginx-vg/error.log"
    if [[ -z $M2M_FAIL ]]; then
        # valgrind reads the debug info of every loaded object; a stripped copy starts in seconds
        objcopy --strip-debug "$M2M_BIN" "$BENCH_DIR/m2m-proxy.stripped"
        m2m_conf "$VG_M2M_PORT" 1 "$M2M_KEY_USED" >"$BENCH_DIR/m2m-vg.conf"
        instr_one "$M2M" "$VG_M2M_PORT" "$BENCH_DIR/m2m-proxy.stripped" --config "$BENCH_DIR/m2m-vg.conf"
    fi
    if ((TLS)) && [[ $INSTR_TLS == 1 ]]; then
        # https upstream: the warm-up (in both runs) makes the pooled upstream TLS connections,
        # so their handshakes cancel out of the difference, as a long-running proxy's would.
        VG_WARMUP=${INSTR_TLS_WARMUP:-$((2 * INSTR_CONNS))}
        NGINX_PROXY_TLS=1 render_nginx_proxy_conf "$BENCH_DIR/nginx-vg-tls" "$VG_NGINX_PORT" "master_process off;"
        check_nginx_conf "$BENCH_DIR/nginx-vg-tls"
        instr_one nginx-tls "$VG_NGINX_PORT" "$NGINX_BIN" -p "$BENCH_DIR/nginx-vg-tls" -c "$BENCH_DIR/nginx-vg-tls/nginx.conf" -e "$BENCH_DIR/nginx-vg-tls/error.log"
        if [[ -z $M2M_FAIL && -z $TLS_FAIL ]]; then
            # Under valgrind 50 TLS handshakes at once take longer than the default 3 s connect
            # timeout (TLS setup counts as connecting); nginx's proxy_connect_timeout is 60 s.
            M2M_LIMITS_EXTRA="connect_timeout_ms = 60000" m2m_conf "$VG_M2M_PORT" 1 "$M2M_KEY_USED" tls >"$BENCH_DIR/m2m-vg-tls.conf"
            instr_one "$M2M-tls" "$VG_M2M_PORT" "$BENCH_DIR/m2m-proxy.stripped" --config "$BENCH_DIR/m2m-vg-tls.conf"
        fi
        VG_WARMUP=0
    fi
fi

# ---- HTTP/2 clients (h2load): m2m-proxy and an h2c nginx (Benchmarks/h2-phase.sh) -----------
if phase h2; then
    # shellcheck source=Benchmarks/h2-phase.sh
    source "$HERE/h2-phase.sh"
fi

# ---- m2m-proxy RSS with IDLE_CONNS idle keep-alive client connections ----------------------
# On a fresh 1-worker instance: the loaded one keeps what the 64 KiB cells made it grow to, which
# would be counted against the connections. The loaded one's idle RSS is recorded too.
if [[ -z $M2M_FAIL ]] && phase rss; then
    printf 'idle-after-load\t%s\t1\t0\t%s\n' "$M2M" "$(group_status_kb "${PGID[$M2M:1]}" VmRSS)" >>"$RSS_TSV"
    m2m_conf "$RSS_M2M_PORT" 1 "$M2M_KEY_USED" >"$BENCH_DIR/m2m-rss.conf"
    start_server m2m-rss "${PROXY_CPUS[1]}" "$M2M_BIN" --config "$BENCH_DIR/m2m-rss.conf"
    rss_pid=${STARTED_PIDS[-1]#*:}
    if ! wait_port "$RSS_M2M_PORT" 15 "$rss_pid" || [[ $(probe m2m-rss "$RSS_M2M_PORT" "$REQ_PATH") != 200 ]]; then
        log "rss: the fresh m2m-proxy did not serve on $RSS_M2M_PORT"
        printf 'idle-conns-failed\t%s\t1\t%s\t0\n' "$M2M" "$IDLE_CONNS" >>"$RSS_TSV"
    else
        printf 'idle-fresh\t%s\t1\t0\t%s\n' "$M2M" "$(group_status_kb "$rss_pid" VmRSS)" >>"$RSS_TSV"
        log "rss: holding $IDLE_CONNS idle keep-alive connections to a fresh $M2M (1 worker)"
        start_server idle-holder "$WRK_CPU" python3 "$HERE/idle-conns.py" --port "$RSS_M2M_PORT" --conns "$IDLE_CONNS"
        holder=${STARTED_PIDS[-1]#*:}
        for ((k = 0; k < 3000; k++)); do  # up to 300 s
            grep -q '^READY' "$BENCH_DIR/logs/idle-holder.out" 2>/dev/null && break
            kill -0 "$holder" 2>/dev/null || break
            sleep 0.1
        done
        if grep -q '^READY' "$BENCH_DIR/logs/idle-holder.out" 2>/dev/null; then
            printf 'idle-conns\t%s\t1\t%s\t%s\n' "$M2M" "$IDLE_CONNS" "$(group_status_kb "$rss_pid" VmRSS)" >>"$RSS_TSV"
            log "rss: $(tail -n 1 "$RSS_TSV" | cut -f5) kB with $IDLE_CONNS idle connections"
        else
            log "rss: the idle-connection holder failed: $(tail -n 2 "$BENCH_DIR/logs/idle-holder.out")"
            printf 'idle-conns-failed\t%s\t1\t%s\t0\n' "$M2M" "$IDLE_CONNS" >>"$RSS_TSV"
        fi
        stop_server idle-holder
    fi
    stop_server m2m-rss
fi

# ---- allocations per request (Benchmarks/malloc-count.sh, the workers branch's LD_PRELOAD counter) ---
MALLOC_OUT="$RESULTS_DIR/malloc.txt"
: >"$MALLOC_OUT"
if [[ -z $M2M_FAIL ]] && phase malloc; then
    if [[ -f $HERE/malloc-count.sh ]]; then   # (a tree without it just reports "not measured")
        log "malloc: bash Benchmarks/malloc-count.sh ($MALLOC_REQUESTS requests over $MALLOC_CONNS connections)"
        # explicit knobs: here WORKERS/CONNS are lists and WARMUP is seconds; there one value each,
        # WARMUP in requests. It measures .build/release/m2m-proxy (built above unless SKIP_BUILD).
        SKIP_BUILD=1 SKIP_INSTALL=1 WORKERS=1 CONNS="$MALLOC_CONNS" REQUESTS="$MALLOC_REQUESTS" \
            WARMUP="$MALLOC_WARMUP" MAX_PER_REQUEST="" bash "$HERE/malloc-count.sh" >"$MALLOC_OUT" 2>&1 \
            || echo "malloc-count.sh exited with status $?" >>"$MALLOC_OUT"
        if command -v h2load >/dev/null; then   # HTTP/2 clients too (the goal row reads the first line)
            echo "HTTP/2 clients (PROTOCOL=h2):" >>"$MALLOC_OUT"
            SKIP_BUILD=1 SKIP_INSTALL=1 WORKERS=1 CONNS="$MALLOC_CONNS" REQUESTS="$MALLOC_REQUESTS" PROTOCOL=h2 \
                WARMUP="$MALLOC_WARMUP" MAX_PER_REQUEST="" bash "$HERE/malloc-count.sh" 2>&1 | grep -E '^(run |alloc)' >>"$MALLOC_OUT" \
                || echo "malloc-count.sh PROTOCOL=h2 failed" >>"$MALLOC_OUT"
        fi
    else
        echo "Benchmarks/malloc-count.sh is not in this tree" >"$MALLOC_OUT"
    fi
fi

# ---- report -------------------------------------------------------------------------------
for i in "${INSTANCES[@]}"; do kill -0 "${PGID[$i]}" 2>/dev/null || die "$i (pid ${PGID[$i]}) died during the benchmark"; done
if [[ -n $M2M_FAIL ]]; then
    n_tok=0
else
    n_tok=$(wc -l <"$BENCH_DIR/token-requests.jsonl" 2>/dev/null || echo 0)
fi
if [[ $PIN == split ]]; then
    if ((NCPU >= 3)); then share2="2-worker proxies on CPUs $CPUS_2W (CPU 1 shared with the upstream)"
    else share2="2-worker proxies on CPUs $CPUS_2W: this is a $NCPU-core machine, so they share CPU 0 with wrk and CPU 1 with the upstream; 2-worker figures show contention, not scaling"; fi
else
    share2="2-worker proxies on CPUs ${CPUS_2W:-any}"
fi
TLS_NOTE="off (TLS=0)"
if ((TLS)); then
    TLS_NOTE="https upstream rows at $TLS_CONNS connections, 1 worker, 200 B: the upstream nginx also serves TLS on :$UPSTREAM_TLS_PORT (test CA and ECDSA P-256 localhost certificate made by Tests/Fixtures/make_tls_certs.sh, ssl_session_cache); nginx-tls: proxy_ssl_verify on, proxy_ssl_session_reuse on, keepalive $UPSTREAM_IDLE_POOL; $M2M-tls: an https route with tls_ca_file, pooled like http"
    [[ -z $TLS_FAIL ]] || TLS_NOTE+="; $M2M-tls NOT MEASURED: $TLS_FAIL"
fi
cat >"$RESULTS_DIR/meta.txt" <<EOF
date	$(date -u '+%Y-%m-%d %H:%M UTC')
command	$( ((QUICK)) && echo "bash Benchmarks/compare.sh --quick" || echo "bash Benchmarks/compare.sh")
quick	$QUICK
host	$NCPU cpus, $(uname -r), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
versions	nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*\///'), haproxy $("$HAPROXY_BIN" -v | awk 'NR == 1 {print $3}'), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2), valgrind $(valgrind --version 2>/dev/null | sed 's/valgrind-//'), m2m-proxy $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- Sources 2>/dev/null || echo "+dirty Sources")
rounds	$ROUNDS round(s), ${WARMUP} s warm-up + ${DURATION} s per cell, wrk -t$WRK_THREADS
pinning	PIN=$PIN: wrk on CPU ${WRK_CPU:-any}, upstream on CPU ${UPSTREAM_CPU:-any}, 1-worker proxies on CPU ${PROXY_CPUS[1]:-any}; $share2
pools	idle upstream pool per worker: nginx keepalive $UPSTREAM_IDLE_POOL, haproxy pool-max-conn $UPSTREAM_IDLE_POOL, m2m-proxy $POOL_NOTE
setup	token ${#TOKEN} B (Authorization: Bearer), bodies 200 B and $BIG_BYTES B, nginx proxy_buffering $NGINX_PROXY_BUFFERING, upstream mode $UPSTREAM_MODE, access logs off
m2m	$( [[ -n $M2M_FAIL ]] && echo "NOT MEASURED: $M2M_FAIL" || echo "$M2M_BIN, token double answered $n_tok token request(s) (lifetime $TOKEN_LIFETIME s)")
hwm	$( ((HWM_RESET)) && echo "peak RSS reset before each cell" || echo "peak RSS could not be reset (not root?): lifetime peak")
syscalls	$SYSCALL_REQUESTS requests over $SYSCALL_CONNS keep-alive connections (Benchmarks/kaclient.py), strace -c -f on every process of the target
instr	callgrind, $INSTR_REQUESTS requests over $INSTR_CONNS keep-alive connections, (Ir(N) - Ir(0)) / N
idleconns	$IDLE_CONNS
routes	$M2M_ROUTES$( ((M2M_ROUTES > 1)) && echo " ($((M2M_ROUTES - 1)) path-prefix routes no request takes, then the benchmark route)")
tls	$TLS_NOTE
EOF
status=0
mkdir -p "$(dirname "$REPORT")"
python3 "$HERE/compare-report.py" "$RESULTS_DIR" >"$REPORT" || status=$?
[[ ! -f $RESULTS_DIR/h2.md ]] || cat "$RESULTS_DIR/h2.md" >>"$REPORT"
cat "$REPORT"
log "report: $REPORT; raw results: $RESULTS_DIR"
if [[ -n $M2M_FAIL ]]; then
    log "m2m-proxy NOT MEASURED: $M2M_FAIL"
    ((status == 0)) && status=3
fi
exit "$status"
