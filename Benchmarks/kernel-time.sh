#!/usr/bin/env bash
# kernel-time.sh — where a proxy's kernel time per request goes: m2m-proxy next to nginx set up as
# the same token-injecting proxy (lib.sh's configs, equal forwarding headers, equal idle pools), 1
# worker, 200 B bodies, pinned like compare.sh (wrk on CPU 0; upstream and proxy share CPU 1).
#
#   bash Benchmarks/kernel-time.sh                     # 3 interleaved rounds x 10 s at 50 clients
#   ROUNDS=5 DURATION=5 CONNS=256 bash Benchmarks/kernel-time.sh
#   M2M_BIN_B=/tmp/before/m2m-proxy TARGETS="m2m-proxy m2m-proxy-b" bash Benchmarks/kernel-time.sh
#       (a before/after pair: the second binary as target m2m-proxy-b, interleaved with the first)
#   TARGETS="nginx m2m-proxy floor" bash Benchmarks/kernel-time.sh
#       (floor: Benchmarks/floor-proxy.c, a relay that does only the 4 syscalls per request no
#       proxy can skip and inserts the same header lines m2m-proxy sends: the most any proxy can
#       get out of this set-up, to read the others against)
#
# Per round and target (interleaved: every round visits both targets in turn), from one wrk run:
#   req/s; proxy user and system CPU µs per request (/proc/PID/stat); upstream CPU µs per request;
#   voluntary and involuntary context switches per request of the proxy's threads and of the
#   upstream's (/proc/PID/task/*/status); netns-wide TCP counters per request (nstat with a private history
#   file: segments, pure ACKs, delayed ACKs, ...); softirqs per request (/proc/softirqs, all CPUs).
#   nstat and softirqs are machine-wide: other processes on the machine add to them.
# Then per target, once:
#   strace   strace -f -T on the proxy while Benchmarks/kaclient.py sends STRACE_REQUESTS requests
#            over CONNS connections: syscalls per request by kind, bytes per read/write, mean µs
#            (ptrace inflates the times; compare kinds, not absolute values)
#   instr    INSTR=N (0 = off): callgrind instructions per request of each m2m-proxy target, as
#            compare.sh measures them, (Ir(N) - Ir(0)) / N over CONNS kaclient connections, with
#            per-function tables (Benchmarks/callgrind-per-request.py) in RESULTS_DIR. It takes
#            no lock, so it can run while another compare.sh holds /tmp/m2m-bench/lock.
#   perf     perf record -e cpu-clock (the only sampling event a VM without a PMU offers) on the
#            proxy during one more wrk run: the top kernel and user symbols (PERF=0 skips it)
# Knobs: ROUNDS=3 DURATION=10 CONNS=50 STRACE_REQUESTS=5000 PERF=1 INSTR=0 TARGETS="nginx m2m-proxy"
#   (ROUNDS=0, STRACE_REQUESTS=0, PERF=0: that part is skipped)
#   M2M_BIN=.build/release/m2m-proxy M2M_LIMITS_EXTRA="" (lines for the proxy's [limits])
# Own ports (19201-19230), state (/tmp/m2m-kt) and pid files: it can run next to compare.sh.
# Output: a summary on stdout; raw files in RESULTS_DIR (/tmp/m2m-kt/results/<timestamp>).
set -Eeuo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
: "${BENCH_DIR:=/tmp/m2m-kt/run}" "${PIDDIR_STATE:=/tmp/m2m-kt/pids}"
: "${UPSTREAM_PORT:=19201}" "${NGINX_PROXY_PORT:=19211}"
export BENCH_DIR PIDDIR_STATE UPSTREAM_PORT NGINX_PROXY_PORT
# shellcheck source=Benchmarks/lib.sh
source "$HERE/lib.sh"
: "${ROUNDS:=3}" "${DURATION:=10}" "${CONNS:=50}" "${STRACE_REQUESTS:=5000}" "${PERF:=1}" "${INSTR:=0}"
: "${TARGETS:=nginx m2m-proxy}" "${M2M_BIN:=$ROOT/.build/release/m2m-proxy}"
: "${M2M_PORT:=19220}" "${TOKEN_PORT:=19221}" "${M2M_B_PORT:=19222}" "${M2M_BIN_B:=}" "${VG_PORT:=19223}" "${FLOOR_PORT:=19224}"
: "${RESULTS_DIR:=/tmp/m2m-kt/results/$(date +%Y%m%d-%H%M%S)}"
[[ -x $M2M_BIN ]] || die "$M2M_BIN not found (swift build -c release)"
for tool in wrk strace nstat taskset python3; do command -v "$tool" >/dev/null || die "$tool not installed"; done

STARTED_PIDS=()
trap 'stop_all' EXIT
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM
reap_stale
for p in "$UPSTREAM_PORT" "$NGINX_PROXY_PORT" "$M2M_PORT" "$TOKEN_PORT" "$M2M_B_PORT" "$FLOOR_PORT"; do require_free_port "$p"; done
rm -rf "$BENCH_DIR"; mkdir -p "$BENCH_DIR" "$RESULTS_DIR"
TOKEN=$(bench_token); export BENCH_TOKEN="$TOKEN"; printf '%s' "$TOKEN" >"$BENCH_DIR/token"

render_upstream_conf "$BENCH_DIR/upstream" auth
render_nginx_proxy_conf "$BENCH_DIR/nginx" "$NGINX_PROXY_PORT"
cat >"$BENCH_DIR/m2m.conf" <<EOF
[server]
listen = "127.0.0.1:$M2M_PORT"
workers = 1
admin_listen = ""
access_log = false
[limits]
upstream_idle_connections = $UPSTREAM_IDLE_POOL
${M2M_LIMITS_EXTRA:-}
[credential.bench]
token_url = "http://127.0.0.1:$TOKEN_PORT/oidc/token"
client_id = "bench-client"
client_secret = "bench-secret"
prefetch = true
[[route]]
name = "bench"
path_prefix = "/api"
upstream = "http://127.0.0.1:$UPSTREAM_PORT"
credential = "bench"
resource = "https://api.bench.invalid/items"
scopes = ["read:items"]
EOF

nginx_run() { start_server "$1" 1 "$NGINX_BIN" -p "$BENCH_DIR/$1" -c "$BENCH_DIR/$1/nginx.conf" -e "$BENCH_DIR/$1/error.log"; }
declare -A PGID PORT=([nginx]=$NGINX_PROXY_PORT [m2m-proxy]=$M2M_PORT [m2m-proxy-b]=$M2M_B_PORT [floor]=$FLOOR_PORT)
nginx_run upstream; UPGID=${STARTED_PIDS[-1]#*:}
wait_port "$UPSTREAM_PORT" 20 "$UPGID" || die "upstream did not listen"
if [[ " $TARGETS " == *" nginx "* ]]; then
    nginx_run nginx; PGID[nginx]=${STARTED_PIDS[-1]#*:}
    wait_port "$NGINX_PROXY_PORT" 20 "${PGID[nginx]}" || die "nginx did not listen"
fi
if [[ " $TARGETS " == *" m2m-proxy"* ]]; then
    start_server token-double 1 python3 "$ROOT/Tests/Fixtures/token_double.py" --port "$TOKEN_PORT" --log "$BENCH_DIR/token.jsonl"
    wait_port "$TOKEN_PORT" 15 "${STARTED_PIDS[-1]#*:}" || die "token double did not listen"
    python3 -c 'import json, sys
print(json.dumps({"status": 200, "body": json.dumps({"access_token": open(sys.argv[1]).read(), "token_type": "Bearer", "expires_in": 86400})}))' \
        "$BENCH_DIR/token" >"$BENCH_DIR/token-mode.json"
    curl -sf -o /dev/null -X POST --data-binary @"$BENCH_DIR/token-mode.json" "http://127.0.0.1:$TOKEN_PORT/_mode" || die "token double /_mode"
    start_server m2m 1 "$M2M_BIN" --config "$BENCH_DIR/m2m.conf"; PGID[m2m-proxy]=${STARTED_PIDS[-1]#*:}
    wait_port "$M2M_PORT" 20 "${PGID[m2m-proxy]}" || die "m2m-proxy did not listen"
    if [[ " $TARGETS " == *" m2m-proxy-b "* ]]; then
        [[ -x $M2M_BIN_B ]] || die "target m2m-proxy-b needs M2M_BIN_B"
        sed "s/127.0.0.1:$M2M_PORT/127.0.0.1:$M2M_B_PORT/" "$BENCH_DIR/m2m.conf" >"$BENCH_DIR/m2m-b.conf"
        start_server m2m-b 1 "$M2M_BIN_B" --config "$BENCH_DIR/m2m-b.conf"; PGID[m2m-proxy-b]=${STARTED_PIDS[-1]#*:}
        wait_port "$M2M_B_PORT" 20 "${PGID[m2m-proxy-b]}" || die "m2m-proxy-b did not listen"
    fi
fi
if [[ " $TARGETS " == *" floor "* ]]; then
    command -v cc >/dev/null || die "target floor needs a C compiler (cc)"
    cc -O2 -o "$BENCH_DIR/floor-proxy" "$HERE/floor-proxy.c" || die "floor-proxy.c did not compile"
    # The header lines m2m-proxy adds (the Host line is the client's in both): equal upstream work.
    printf 'Authorization: Bearer %s\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: 127.0.0.1:%s\r\nX-Request-Id: 0123456789abcdef\r\nX-Forwarded-Proto: http\r\nVia: 1.1 m2m-proxy\r\n' \
        "$TOKEN" "$FLOOR_PORT" >"$BENCH_DIR/floor-headers"
    start_server floor 1 "$BENCH_DIR/floor-proxy" "$FLOOR_PORT" "$UPSTREAM_PORT" "$BENCH_DIR/floor-headers"; PGID[floor]=${STARTED_PIDS[-1]#*:}
    wait_port "$FLOOR_PORT" 20 "${PGID[floor]}" || die "floor-proxy did not listen"
fi
for t in $TARGETS; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$t]}$REQ_PATH")
    [[ $code == 200 ]] || die "$t answers $code (token not injected?)"
done

pids_of() { pgrep -g "$1" 2>/dev/null || true; }
proc_snap() {  # proc_snap PGID -> "utime stime voluntary nonvoluntary" over every thread of the group
    local p u=0 s=0 v=0 n=0 a b
    for p in $(pids_of "$1"); do
        read -r a b < <(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + 0, $13 + 0}') || continue
        u=$((u + a)); s=$((s + b))
        read -r a b < <(cat /proc/"$p"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2} END {print v + 0, n + 0}') || continue
        v=$((v + a)); n=$((n + b))
    done
    echo "$u $s $v $n"
}
softirq_snap() { awk 'NR > 1 { s = 0; for (i = 2; i <= NF; i++) s += $i; printf "%s%d ", $1, s }' /proc/softirqs; }
export NSTAT_HISTORY=$BENCH_DIR/nstat.history

ROWS=$RESULTS_DIR/rounds.tsv
printf 'round\ttarget\trequests\treq_s\tusr_us\tsys_us\tupstream_us\tvol_sw\tinvol_sw\tnet\tsoftirq\tup_vol_sw\tup_invol_sw\n' >"$ROWS"
one_round() {  # one_round ROUND TARGET
    local r=$1 t=$2 out a b ua ub sa sb n rps net uwa uwb
    out=$RESULTS_DIR/wrk-$t-$r.txt
    taskset -c 0 wrk -t1 -c"$CONNS" -d1 "http://127.0.0.1:${PORT[$t]}$REQ_PATH" >/dev/null 2>&1   # pool warm
    a=$(proc_snap "${PGID[$t]}"); ua=$(group_ticks "$UPGID" || true); uwa=$(proc_snap "$UPGID"); sa=$(softirq_snap); nstat -n
    taskset -c 0 wrk -t1 -c"$CONNS" -d"$DURATION" "http://127.0.0.1:${PORT[$t]}$REQ_PATH" >"$out" 2>&1
    b=$(proc_snap "${PGID[$t]}"); ub=$(group_ticks "$UPGID" || true); uwb=$(proc_snap "$UPGID"); sb=$(softirq_snap)
    net=$(nstat -s 2>/dev/null | awk '$1 ~ /^(TcpInSegs|TcpOutSegs|TcpExtTCPPureAcks|TcpExtTCPHPAcks|TcpExtDelayedACKs|TcpExtTCPAutoCorking|TcpExtTCPBacklogCoalesce|TcpExtTCPHPHits|TcpExtTCPDelivered)$/ {printf "%s=%s,", $1, $2}')
    n=$(awk '/requests in/ {print $1}' "$out"); rps=$(awk '/Requests\/sec/ {print $2}' "$out")
    grep -q 'Non-2xx\|Socket errors' "$out" && log "$t round $r: errors: $(grep 'Non-2xx\|Socket errors' "$out")"
    awk -v r="$r" -v t="$t" -v n="$n" -v rps="$rps" -v a="$a" -v b="$b" -v ua="$ua" -v ub="$ub" -v sa="$sa" -v sb="$sb" \
        -v net="$net" -v hz="$CLK_TCK" -v uwa="$uwa" -v uwb="$uwb" 'BEGIN {
        split(a, A, " "); split(b, B, " "); split(uwa, UA, " "); split(uwb, UB, " "); us = 1e6 / hz / n
        split(sa, SA, " "); split(sb, SB, " "); soft = ""
        for (i = 1; i in SB; i++) { split(SA[i], x, ":"); split(SB[i], y, ":"); soft = soft sprintf("%s=%.3f,", y[1], (y[2] - x[2]) / n) }
        split(net, NT, ","); nets = ""
        for (i = 1; i in NT; i++) if (NT[i] != "") { split(NT[i], x, "="); sub(/^Tcp(Ext)?/, "", x[1]); nets = nets sprintf("%s=%.3f,", x[1], x[2] / n) }
        printf "%s\t%s\t%d\t%s\t%.2f\t%.2f\t%.2f\t%.4f\t%.4f\t%s\t%s\t%.4f\t%.4f\n", r, t, n, rps, (B[1]-A[1])*us, (B[2]-A[2])*us, (ub-ua)*us,
            (B[3]-A[3])/n, (B[4]-A[4])/n, nets, soft, (UB[3]-UA[3])/n, (UB[4]-UA[4])/n }' >>"$ROWS"
    log "round $r $t: $(tail -n 1 "$ROWS" | cut -f3-9)"
}
for ((r = 1; r <= ROUNDS; r++)); do for t in $TARGETS; do one_round "$r" "$t"; done; done

# strace -f -T with an exact request count: syscalls per request by kind, bytes per call
STR=$RESULTS_DIR/strace.tsv
printf 'target\tsyscall\tper_request\tmean_us\tbytes_per_call\n' >"$STR"
for t in $TARGETS; do
    ((STRACE_REQUESTS > 0)) || break
    python3 "$HERE/kaclient.py" --port "${PORT[$t]}" --conns "$CONNS" --requests $((CONNS * 20)) >/dev/null 2>&1 || true
    args=(); for p in $(pids_of "${PGID[$t]}"); do args+=(-p "$p"); done
    strace -f -T -qq -o "$RESULTS_DIR/strace-$t.txt" "${args[@]}" & spid=$!
    sleep 1
    taskset -c 0 python3 "$HERE/kaclient.py" --port "${PORT[$t]}" --conns "$CONNS" --requests "$STRACE_REQUESTS" >"$RESULTS_DIR/strace-$t.client" 2>&1 \
        || log "strace $t: client failed"
    kill -INT "$spid"; wait "$spid" || true
    # lines: PID name(args) = ret <secs>; resumed calls are counted at their "resumed" line
    awk -v t="$t" -v n="$STRACE_REQUESTS" '
        /resumed>/ { if (match($0, /<\.\.\. [a-z_0-9]+ resumed>/)) { s = substr($0, RSTART + 5, RLENGTH - 5); sub(/ resumed>/, "", s) } else next }
        !/resumed>/ { if (/unfinished/ || !match($0, /^[0-9]+ +[a-z_0-9]+\(/)) next; s = $2; sub(/\(.*/, "", s) }
        { c[s]++; if (match($0, /<[0-9.]+>$/)) tm[s] += substr($0, RSTART + 1, RLENGTH - 2)
          if (s ~ /^(read|write|writev|readv|recvfrom|sendto|sendmsg|recvmsg)$/ && match($0, /= [0-9]+ </)) { by[s] += substr($0, RSTART + 2, RLENGTH - 4); bc[s]++ } }
        END { for (s in c) printf "%s\t%s\t%.3f\t%.1f\t%s\n", t, s, c[s] / n, tm[s] / c[s] * 1e6, (s in bc) ? sprintf("%.0f", by[s] / bc[s]) : "-" }' \
        "$RESULTS_DIR/strace-$t.txt" | sort -t$'\t' -k3,3nr >>"$STR"
done

if [[ $PERF == 1 ]] && command -v perf >/dev/null; then
    for t in $TARGETS; do
        args=$(pids_of "${PGID[$t]}" | paste -sd,)
        taskset -c 0 wrk -t1 -c"$CONNS" -d$((DURATION + 2)) "http://127.0.0.1:${PORT[$t]}$REQ_PATH" >/dev/null 2>&1 & wpid=$!
        sleep 1
        perf record -q -e cpu-clock -F 4999 -p "$args" -o "$RESULTS_DIR/perf-$t.data" -- sleep "$DURATION" >/dev/null 2>&1 || log "perf $t failed"
        wait "$wpid" || true
        perf report -q -i "$RESULTS_DIR/perf-$t.data" --stdio --no-children --sort sym 2>/dev/null | grep -v '^$' | head -n 40 >"$RESULTS_DIR/perf-$t.txt" || true
        perf report -q -i "$RESULTS_DIR/perf-$t.data" --stdio --no-children --sort dso 2>/dev/null | grep -v '^$' | head -n 8 >"$RESULTS_DIR/perf-$t.dso.txt" || true
    done
fi

# callgrind instructions per request (INSTR=N), compare.sh's method
INS=$RESULTS_DIR/instr.tsv
if ((INSTR > 0)); then
    printf 'target\tper_request\n' >"$INS"
    for t in $TARGETS; do
        case $t in m2m-proxy) bin=$M2M_BIN ;; m2m-proxy-b) bin=$M2M_BIN_B ;; *) continue ;; esac
        objcopy --strip-debug "$bin" "$BENCH_DIR/$t.stripped"
        sed "s/127.0.0.1:$M2M_PORT/127.0.0.1:$VG_PORT/" "$BENCH_DIR/m2m.conf" >"$BENCH_DIR/vg.conf"
        declare -A IR=()
        for n in 0 "$INSTR"; do
            out=$RESULTS_DIR/callgrind.$t.$n.out
            start_server "vg-$t-$n" 1 valgrind --tool=callgrind --callgrind-out-file="$out" "$BENCH_DIR/$t.stripped" --config "$BENCH_DIR/vg.conf"
            vpid=${STARTED_PIDS[-1]#*:}
            wait_port "$VG_PORT" 120 "$vpid" || die "instr $t: did not listen"
            taskset -c 0 python3 "$HERE/kaclient.py" --port "$VG_PORT" --conns "$CONNS" --requests "$n" >"$RESULTS_DIR/instr-$t.$n.client" 2>&1 \
                || die "instr $t: client failed: $(cat "$RESULTS_DIR/instr-$t.$n.client")"
            stop_server "vg-$t-$n"
            IR[$n]=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")
        done
        awk -v t="$t" -v a="${IR[0]}" -v b="${IR[$INSTR]}" -v n="$INSTR" 'BEGIN { printf "%s\t%.0f\n", t, (b - a) / n }' >>"$INS"
        python3 "$HERE/callgrind-per-request.py" "$RESULTS_DIR/callgrind.$t.0.out" "$RESULTS_DIR/callgrind.$t.$INSTR.out" "$INSTR" --top 80 \
            >"$RESULTS_DIR/functions-$t.txt" 2>&1 || true
        log "instr $t: $(tail -n 1 "$INS" | cut -f2) instructions per request"
    done
fi

echo "== per round (µs and switches per request; $CONNS clients, ${DURATION} s, 200 B) =="
column -t -s$'\t' <(cut -f1-9,12-13 "$ROWS")
echo "== means =="
awk -F'\t' 'NR > 1 { k = $2; c[k]++; for (i = 4; i <= 9; i++) s[k, i] += $i }
    END { print "target\treq_s\tusr_us\tsys_us\tupstream_us\tvol_sw\tinvol_sw"
          for (k in c) { printf "%s", k; for (i = 4; i <= 9; i++) printf "\t%.3f", s[k, i] / c[k]; print "" } }' "$ROWS" | column -t -s$'\t'
echo "== TCP counters and softirqs per request (last round; machine-wide) =="
awk -F'\t' 'NR > 1 { last[$2] = $10 "  " $11 } END { for (k in last) print k ": " last[k] }' "$ROWS"
echo "== strace -f -T: syscalls per request ($STRACE_REQUESTS requests over $CONNS connections) =="
column -t -s$'\t' "$STR"
if [[ -s $INS ]]; then echo "== callgrind instructions per request ($INSTR requests, $CONNS connections) =="; column -t -s$'\t' "$INS"; fi
for t in $TARGETS; do
    [[ -s $RESULTS_DIR/perf-$t.txt ]] || continue
    echo "== perf cpu-clock $t: by object =="; cat "$RESULTS_DIR/perf-$t.dso.txt"
    echo "== perf cpu-clock $t: top symbols =="; head -n 25 "$RESULTS_DIR/perf-$t.txt"
done
log "raw: $RESULTS_DIR"
