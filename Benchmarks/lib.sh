# shellcheck shell=bash
# Helpers for Benchmarks/compare.sh (sourced, not executed). Everything listens on
# 127.0.0.1 only. Copied from the team's shared wrk harness (bench/lib.sh) so that the project
# does not depend on files outside it; changes: state lives under /tmp/m2m-bench (not the shared
# harness's /tmp/proxy-bench), so a run never reaps processes of a shared-harness run; the worker
# count of nginx and haproxy is a parameter (NGINX_WORKER_PROCESSES, HAPROXY_THREADS); the
# upstream also serves a 64 KiB body at $BIG_PATH; with TLS_DIR set, the upstream also serves
# the 200 B body over TLS and an nginx proxy can use that https upstream (NGINX_PROXY_TLS=1).

BENCH_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# ---- knobs (env overrides) -------------------------------------------------
: "${BENCH_DIR:=/tmp/m2m-bench/run}"        # wiped and recreated on every run
: "${UPSTREAM_PORT:=19001}"
: "${UPSTREAM_TLS_PORT:=19002}"               # the upstream's TLS server (TLS_DIR set)
: "${TLS_DIR:=}"                              # ca.pem, server.pem, server.key (Tests/Fixtures/make_tls_certs.sh); "" = no TLS
: "${NGINX_PROXY_PORT:=19011}"
: "${HAPROXY_PORT:=19012}"
: "${UPSTREAM_MODE:=auth}"                    # auth: 401 unless the Bearer token arrives; plain: always 200
: "${NGINX_PROXY_BUFFERING:=off}"             # off = stream like a libuv proxy does; on = nginx default
: "${UPSTREAM_IDLE_POOL:=64}"                 # idle upstream conns kept: nginx `keepalive N`, haproxy `pool-max-conn N`
: "${NGINX_BIN:=$(command -v nginx || echo /usr/sbin/nginx)}"
: "${HAPROXY_BIN:=$(command -v haproxy || echo /usr/sbin/haproxy)}"

BODY_JSON='{"items":[{"id":1,"name":"alpha","qty":3},{"id":2,"name":"bravo","qty":5},{"id":3,"name":"charlie","qty":8}],"total":3,"page":1,"next":null,"generated":"2024-01-01T00:00:00Z","source":"bench-fixture"}'
REQ_PATH=/api/items
BIG_PATH=/api/big          # BIG_BYTES (64 KiB) body, a static file of the upstream
: "${BIG_BYTES:=65536}"
: "${NGINX_WORKER_PROCESSES:=1}"              # per call: NGINX_WORKER_PROCESSES=2 render_nginx_proxy_conf ...
: "${HAPROXY_THREADS:=1}"                     # per call: HAPROXY_THREADS=2 render_haproxy_conf ...

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

bench_token() {
    if [[ -n "${BENCH_TOKEN:-}" ]]; then printf '%s' "$BENCH_TOKEN"; else python3 "$BENCH_HOME/gen-token.py"; fi
}

# ---- process bookkeeping -----------------------------------------------------
# Every server is started with setsid, so its PID is also its process-group id;
# stopping it signals that group only (nginx master + worker, valgrind, ...).
: "${PIDDIR_STATE:=/tmp/m2m-bench/pids}"      # survives BENCH_DIR wipes so re-runs can reap leftovers; own dir = runs that do not reap each other

_starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }

start_server() {   # start_server NAME CPU_LIST cmd args...   (CPU_LIST "" = no pinning)
    local name=$1 cpus=$2; shift 2
    mkdir -p "$PIDDIR_STATE" "$BENCH_DIR/logs"
    # 8>&-: servers must not inherit compare.sh's run lock (fd 8), or a leftover one would hold it
    if [[ -n "$cpus" ]]; then
        setsid taskset -c "$cpus" "$@" >"$BENCH_DIR/logs/$name.out" 2>&1 </dev/null 8>&- &
    else
        setsid "$@" >"$BENCH_DIR/logs/$name.out" 2>&1 </dev/null 8>&- &
    fi
    local pid=$!
    sleep 0.05
    echo "$pid $(_starttime "$pid")" >"$PIDDIR_STATE/$name.pid"
    STARTED_PIDS+=("$name:$pid")
    log "started $name pid=$pid cpus=${cpus:-any}: $*"
}

_group_alive() { kill -0 -- "-$1" 2>/dev/null; }

stop_pid_group() {  # stop_pid_group PID [grace_seconds]
    local pid=$1 grace=${2:-5} i
    _group_alive "$pid" || { kill -0 "$pid" 2>/dev/null || return 0; }
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < grace * 20; i++)); do
        _group_alive "$pid" || kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if _group_alive "$pid" || kill -0 "$pid" 2>/dev/null; then
        log "pid $pid ignored SIGTERM for ${grace}s, sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null || true
}

stop_server() {    # stop_server NAME
    local name=$1 f="$PIDDIR_STATE/$1.pid" pid st
    [[ -f $f ]] || return 0
    read -r pid st <"$f"
    if [[ -n "$pid" && "$(_starttime "$pid")" == "$st" ]]; then
        stop_pid_group "$pid"
        log "stopped $name pid=$pid"
    fi
    rm -f "$f"
}

stop_all() {
    local e
    for e in "${STARTED_PIDS[@]:-}"; do [[ -n $e ]] && stop_server "${e%%:*}"; done
    STARTED_PIDS=()
}

reap_stale() {     # processes recorded by an earlier run that died without cleanup
    local f pid st name
    mkdir -p "$PIDDIR_STATE"
    for f in "$PIDDIR_STATE"/*.pid; do
        [[ -e $f ]] || continue
        name=$(basename "$f" .pid)
        read -r pid st <"$f"
        if [[ -n "$pid" && "$(_starttime "$pid")" == "$st" ]]; then
            log "reaping stale $name (pid $pid) from an earlier run"
            stop_pid_group "$pid"
        fi
        rm -f "$f"
    done
}

port_in_use() { [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]; }

require_free_port() {
    port_in_use "$1" && die "port $1 is in use by a process this harness did not start: $(ss -Htlnp "sport = :$1")"
    return 0
}

wait_port() {      # wait_port PORT TIMEOUT_S [PID]
    local port=$1 t=${2:-10} pid=${3:-} i
    for ((i = 0; i < t * 20; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        sleep 0.05
    done
    return 1
}

# ---- configs ---------------------------------------------------------------
_nginx_common() {  # _nginx_common PREFIX  -> main-context lines shared by every nginx we run
    local p=$1
    cat <<EOF
worker_processes ${NGINX_WORKER_PROCESSES};
daemon off;
pid $p/nginx.pid;
error_log $p/error.log warn;
events { worker_connections 8192; }   # fd hard limit here is 20000; no worker_rlimit_nofile
EOF
}

_nginx_http_common() {
    local p=$1
    cat <<EOF
    access_log off;
    server_tokens off;
    # nginx closes a client keep-alive conn after 1000 requests by default;
    # every proxy and wrk would then pay reconnects that no other target pays.
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $p/tmp/body;
    proxy_temp_path $p/tmp/proxy;
    fastcgi_temp_path $p/tmp/fastcgi;
    uwsgi_temp_path $p/tmp/uwsgi;
    scgi_temp_path $p/tmp/scgi;
EOF
}

render_upstream_conf() {   # render_upstream_conf PREFIX MODE(auth|plain) [EXTRA_MAIN]
    local p=$1 mode=$2 extra=${3:-} token auth_if=""
    token=$(bench_token)
    mkdir -p "$p/tmp"
    if [[ $mode == auth ]]; then
        auth_if="if (\$http_authorization != \"Bearer $token\") { return 401; }"
    fi
    {
        _nginx_common "$p"
        printf '%s\n' "$extra"
        echo "http {"
        _nginx_http_common "$p"
        cat <<EOF
    server {
        listen 127.0.0.1:$UPSTREAM_PORT backlog=4096;
        default_type application/json;
        location = $REQ_PATH {
            $auth_if
            return 200 '$BODY_JSON';
        }
        location = $BIG_PATH {
            $auth_if
            alias $p/www/big.json;
        }
        location / { return 404; }
    }
EOF
        if [[ -n $TLS_DIR ]]; then
            cat <<EOF
    server {
        listen 127.0.0.1:$UPSTREAM_TLS_PORT ssl backlog=4096;
        ssl_certificate $TLS_DIR/server.pem;
        ssl_certificate_key $TLS_DIR/server.key;
        ssl_session_cache shared:SSL:10m;
        default_type application/json;
        location = $REQ_PATH {
            $auth_if
            return 200 '$BODY_JSON';
        }
        location / { return 404; }
    }
EOF
        fi
        echo "}"
    } >"$p/nginx.conf"
    mkdir -p "$p/www"
    big_body >"$p/www/big.json"
}

big_body() {  # the BIG_BYTES-byte JSON body of $BIG_PATH (deterministic)
    python3 -c '
import sys
n = int(sys.argv[1]); head = "{\"blob\":\""; tail = "\"}"
fill = "abcdefghijklmnopqrstuvwxyz0123456789" * (n // 36 + 1)
sys.stdout.write(head + fill[:n - len(head) - len(tail)] + tail)' "$BIG_BYTES"
}

render_nginx_proxy_conf() {  # render_nginx_proxy_conf PREFIX PORT [EXTRA_MAIN]
    # NGINX_LISTEN_EXTRA (per call): more listen parameters, e.g. "http2" (prior-knowledge h2c).
    # NGINX_PROXY_TLS=1 (per call): to the upstream's TLS server, verified against TLS_DIR/ca.pem
    # with SNI localhost, sessions reused (proxy_ssl_session_reuse), same keepalive pool.
    local p=$1 port=$2 extra=${3:-} token up="127.0.0.1:$UPSTREAM_PORT" scheme=http ssl=""
    token=$(bench_token)
    if [[ ${NGINX_PROXY_TLS:-0} == 1 ]]; then
        up="127.0.0.1:$UPSTREAM_TLS_PORT" scheme=https
        ssl="proxy_ssl_session_reuse on;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $TLS_DIR/ca.pem;
            proxy_ssl_name localhost;
            proxy_ssl_server_name on;"
    fi
    mkdir -p "$p/tmp"
    {
        _nginx_common "$p"
        printf '%s\n' "$extra"
        echo "http {"
        _nginx_http_common "$p"
        cat <<EOF
    map \$http_x_request_id \$bench_request_id {
        default \$http_x_request_id;
        ""      \$request_id;
    }
    upstream api {
        server $up;
        keepalive $UPSTREAM_IDLE_POOL;
        keepalive_requests 1000000;
        keepalive_timeout 120s;
    }
    server {
        listen 127.0.0.1:$port backlog=4096 ${NGINX_LISTEN_EXTRA:-};
        location / {
            proxy_pass $scheme://api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer $token";
            # The forwarding headers m2m-proxy adds (DESIGN.md §4), so that every proxy does the
            # same work and its upstream parses the same head: X-Forwarded-For appended to the
            # client's list, X-Forwarded-Host = the Host as sent, the scheme, the client's
            # X-Request-Id or a generated one, and a Via line.
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Host \$http_host;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Request-Id \$bench_request_id;
            proxy_set_header Via "1.1 nginx";
            proxy_buffering $NGINX_PROXY_BUFFERING;
            $ssl
        }
    }
}
EOF
    } >"$p/nginx.conf"
}

render_haproxy_conf() {   # render_haproxy_conf DIR PORT
    local d=$1 port=$2 token
    token=$(bench_token)
    mkdir -p "$d"
    cat >"$d/haproxy.cfg" <<EOF
global
    nbthread $HAPROXY_THREADS
    maxconn 8000          # needs ~2*maxconn fds; the hard fd limit here is 20000
    # no 'log' line: nothing is logged, like access_log off in nginx

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout http-keep-alive 120s
    timeout http-request 120s

frontend fe
    bind 127.0.0.1:$port
    http-request set-header Authorization "Bearer $token"
    # The forwarding headers m2m-proxy adds (DESIGN.md §4; see render_nginx_proxy_conf).
    option forwardfor
    unique-id-format %{+X}o\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Request-Id %[unique-id] unless { req.hdr(x-request-id) -m found }
    http-request set-header Via "1.1 haproxy"
    default_backend api

backend api
    http-reuse always
    server up 127.0.0.1:$UPSTREAM_PORT pool-max-conn $UPSTREAM_IDLE_POOL
EOF
}

check_nginx_conf() { "$NGINX_BIN" -t -q -p "$1" -c "$1/nginx.conf" -e "$1/error.log" || die "nginx -t failed for $1"; }

# ---- CPU accounting (noise detection on a shared box) -------------------------
CLK_TCK=$(getconf CLK_TCK)

cpu_snap() {   # per line of /proc/stat ("cpu", "cpu0", ...): NAME USR_SYS IRQ_SOFTIRQ IDLE STEAL (ticks)
    awk '/^cpu/ { printf "%s %d %d %d %d ", $1, $2+$3+$4, $7+$8, $5+$6, $9 }' /proc/stat
}

group_ticks() {  # utime+stime of every process in the given process groups (one awk, no pgrep per group)
    # comm (field 2) may hold spaces: cut the line after its closing ") " first; then pgrp is
    # field 3 and utime/stime are fields 12/13. cat, because awk stops at a process that just exited.
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v want=" $* " '{
        line = $0; sub(/^.*\) /, "", line); split(line, f, " ");
        if (index(want, " " f[3] " ")) s += f[12] + f[13] } END { print s + 0 }'
}

foreign_load() {   # foreign_load SECONDS PGIDS... -> cores used by processes not in PGIDS
    # Divides by the elapsed time /proc/stat saw (all ticks / cpus), not by SECONDS: taking the
    # snapshots (pgrep, awk per process) adds time of its own, a lot of it for a short SECONDS.
    local s=$1; shift
    local a b oa ob
    a=$(cpu_snap); oa=$(group_ticks "$@")
    sleep "$s"
    b=$(cpu_snap); ob=$(group_ticks "$@")
    awk -v a="$a" -v b="$b" -v oa="$oa" -v ob="$ob" -v hz="$CLK_TCK" -v ncpu="$(nproc)" 'BEGIN {
        split(a, A, " "); split(b, B, " ");
        el = 0; for (k = 2; k <= 5; k++) el += B[k] - A[k]; secs = el / hz / ncpu; if (secs <= 0) secs = 1;
        f = ((B[2]+B[3]-A[2]-A[3]) - (ob-oa)) / hz / secs; if (f < 0) f = 0; printf "%.2f", f }'
}

tcp_active_opens() {  # netns-wide count of connect()s that reached SYN_SENT (includes other users of this netns)
    awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "ActiveOpens") c = i; h = 1 } else print $c }' /proc/net/snmp
}
