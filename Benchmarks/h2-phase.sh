# h2-phase.sh — sourced by compare.sh when PHASES has "h2": HTTP/2 clients (h2load, prior
# knowledge, i.e. h2c: h2load's default for http:// URLs) through m2m-proxy's 1-worker instance
# (the same port serves HTTP/1.1 and HTTP/2) and through a 1-worker nginx set up like the
# `nginx` target but with `listen ... http2` (prior-knowledge h2c on plain TCP, nginx 1.22),
# proxy_pass to the same HTTP/1.1 upstream with the same token and forwarding headers.
#
#   load   ROUNDS interleaved rounds (each visits both targets), h2load -t 1 -c H2_CONNS
#          -m H2_STREAMS for WARMUP + DURATION s on the 200 B body: req/s, p50/p99 (from h2load's
#          --log-file, one line per request), CPU µs per request of the target (utime+stime)
#   instr  callgrind, (Ir(N) - Ir(0)) / N, N = H2_INSTR_REQUESTS over H2_CONNS connections of
#          H2_STREAMS streams (the N run includes the H2_CONNS connection setups)
# H2_LOAD=0 / H2_INSTR=0 skip a part (PHASES=h2 runs both, whatever else PHASES holds).
# compare.sh runs with `set -e`: every step here that may fail (a process gone while its
# /proc/PID/stat is read, an h2load error) is guarded, so that a failure costs a row, not the run.
# Writes $RESULTS_DIR/h2.tsv and $RESULTS_DIR/h2.md (appended to the report).
: "${H2_LOAD:=1}" "${H2_INSTR:=1}" "${H2_CONNS:=10}" "${H2_STREAMS:=10}" "${H2_INSTR_REQUESTS:=$INSTR_REQUESTS}" "${H2_NGINX_PORT:=19061}"

h2_main() {
    local tsv="$RESULTS_DIR/h2.tsv" md="$RESULTS_DIR/h2.md" r i port pg url out lf a b n rps p50 p99 cpu
    command -v h2load >/dev/null || { log "h2: h2load not installed (nghttp2-client)"; return 0; }
    [[ -z $M2M_FAIL ]] || { log "h2: m2m-proxy not measured: $M2M_FAIL"; return 0; }
    require_free_port "$H2_NGINX_PORT"
    NGINX_LISTEN_EXTRA=http2 render_nginx_proxy_conf "$BENCH_DIR/nginx-h2" "$H2_NGINX_PORT"
    check_nginx_conf "$BENCH_DIR/nginx-h2"
    start_nginx nginx-h2 "${PROXY_CPUS[1]}"
    PGID[nginx-h2:1]=${STARTED_PIDS[-1]#*:}; PORT[nginx-h2:1]=$H2_NGINX_PORT
    wait_port "$H2_NGINX_PORT" 15 "${PGID[nginx-h2:1]}" || { log "h2: nginx-h2 did not listen"; return 0; }
    PGID[$M2M-h2:1]=${PGID[$M2M:1]}; PORT[$M2M-h2:1]=${PORT[$M2M:1]}
    local targets=(nginx-h2:1 "$M2M-h2:1")
    for i in "${targets[@]}"; do   # preflight: 200 over HTTP/2 with the fixture's body
        out=$(curl -s --http2-prior-knowledge -o "$BENCH_DIR/probe-h2.body" -w '%{http_version} %{http_code}' \
            "http://127.0.0.1:${PORT[$i]}$REQ_PATH" || true)
        [[ $out == "2 200" ]] && cmp -s "$BENCH_DIR/probe-h2.body" "$BENCH_DIR/want-small" \
            || { log "h2: preflight $i: '$out' (want '2 200' and the fixture's body)"; return 0; }
    done
    printf 'round\ttarget\tconns\tstreams\trps\tp50_us\tp99_us\tcpu_us_per_req\trequests\tfailed\n' >"$tsv"
    if [[ $H2_LOAD == 1 ]]; then
        for ((r = 1; r <= ROUNDS; r++)); do
            for i in "${targets[@]}"; do
                url="http://127.0.0.1:${PORT[$i]}$REQ_PATH"; lf="$RESULTS_DIR/h2load-r$r-${i%%:*}.log"
                [[ $WARMUP == 0 ]] || client_cmd h2load -t 1 -c "$H2_CONNS" -m "$H2_STREAMS" -D "$WARMUP" "$url" >/dev/null 2>&1 || true
                a=$(group_ticks "${PGID[$i]}" || true)
                out=$(client_cmd h2load -t 1 -c "$H2_CONNS" -m "$H2_STREAMS" -D "$DURATION" --log-file="$lf" "$url" 2>&1 || true)
                b=$(group_ticks "${PGID[$i]}" || true)
                printf '%s\n' "$out" >"$RESULTS_DIR/h2load-r$r-${i%%:*}.txt"
                rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
                n=0 fail="?"
                read -r n fail < <(sed -n 's/^requests: .* \([0-9]*\) succeeded, \([0-9]*\) failed.*/\1 \2/p' <<<"$out") || true
                p50=0 p99=0
                read -r p50 p99 < <(awk -F'\t' '{print $3}' "$lf" 2>/dev/null | sort -n | awk '{v[NR] = $1} END {
                    if (NR == 0) { print "0 0"; exit } print v[int((NR - 1) * 0.5) + 1], v[int((NR - 1) * 0.99) + 1] }') || true
                cpu=$(awk -v t=$((b - a)) -v hz="$CLK_TCK" -v n="${n:-0}" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "${i%%:*}" "$H2_CONNS" "$H2_STREAMS" \
                    "${rps:-0}" "$p50" "$p99" "$cpu" "${n:-0}" "${fail:-?}" >>"$tsv"
                log "h2 round $r ${i%%:*}: ${rps:-?} req/s p50 ${p50}us p99 ${p99}us cpu ${cpu}us/req failed ${fail:-?}"
                rm -f "$lf"
            done
        done
    fi
    local itsv="$RESULTS_DIR/h2-instr.tsv"
    printf 'target\trequests\tir_0\tir_n\tper_request\n' >"$itsv"
    if [[ $H2_INSTR == 1 ]]; then
        NGINX_LISTEN_EXTRA=http2 render_nginx_proxy_conf "$BENCH_DIR/nginx-vg-h2" "$VG_NGINX_PORT" "master_process off;"
        check_nginx_conf "$BENCH_DIR/nginx-vg-h2"
        h2_instr nginx-h2 "$VG_NGINX_PORT" "$NGINX_BIN" -p "$BENCH_DIR/nginx-vg-h2" -c "$BENCH_DIR/nginx-vg-h2/nginx.conf" -e "$BENCH_DIR/nginx-vg-h2/error.log"
        [[ -f $BENCH_DIR/m2m-proxy.stripped ]] || objcopy --strip-debug "$M2M_BIN" "$BENCH_DIR/m2m-proxy.stripped"
        m2m_conf "$VG_M2M_PORT" 1 "$M2M_KEY_USED" >"$BENCH_DIR/m2m-vg-h2.conf"
        h2_instr "$M2M-h2" "$VG_M2M_PORT" "$BENCH_DIR/m2m-proxy.stripped" --config "$BENCH_DIR/m2m-vg-h2.conf"
    fi
    h2_report "$tsv" "$itsv" >"$md"
    stop_server nginx-h2
}

h2_vg_run() {  # h2_vg_run NAME PORT NREQ CMD... -> total Ir
    local name=$1 port=$2 n=$3 out pid ir; shift 3
    out="$RESULTS_DIR/callgrind.$name.$n.out"
    start_server "vg-$name-$n" "${PROXY_CPUS[1]}" valgrind --tool=callgrind --callgrind-out-file="$out" "$@"
    pid=${STARTED_PIDS[-1]#*:}
    wait_port "$port" 120 "$pid" || { log "h2 instr $name: did not listen on $port"; return 1; }
    # A TERM while the server (nginx under valgrind) is still starting up loses callgrind's dump.
    sleep 1
    if ((n > 0)); then
        client_cmd h2load -t 1 -c "$H2_CONNS" -m "$H2_STREAMS" -n "$n" "http://127.0.0.1:$port$REQ_PATH" \
            >"$RESULTS_DIR/h2-instr-$name.$n.client" 2>&1 || { log "h2 instr $name: h2load failed"; stop_server "vg-$name-$n"; return 1; }
        grep -q " $n succeeded, 0 failed" "$RESULTS_DIR/h2-instr-$name.$n.client" \
            || { log "h2 instr $name: not all $n requests succeeded"; stop_server "vg-$name-$n"; return 1; }
    fi
    stop_server "vg-$name-$n"
    ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out" 2>/dev/null || true)
    [[ -n $ir ]] || { log "h2 instr $name: no callgrind totals"; return 1; }
    echo "$ir"
}

h2_instr() {  # h2_instr NAME PORT CMD...
    local name=$1 port=$2 i0 in; shift 2
    log "h2 instr $name: callgrind, 0 or $H2_INSTR_REQUESTS requests over $H2_CONNS h2 connections x $H2_STREAMS streams"
    i0=$(h2_vg_run "$name" "$port" 0 "$@") && in=$(h2_vg_run "$name" "$port" "$H2_INSTR_REQUESTS" "$@") || return 0
    awk -v t="$name" -v n="$H2_INSTR_REQUESTS" -v a="$i0" -v b="$in" \
        'BEGIN { printf "%s\t%d\t%d\t%d\t%.0f\n", t, n, a, b, (b - a) / n }' >>"$RESULTS_DIR/h2-instr.tsv"
    log "h2 instr $name: $(tail -n 1 "$RESULTS_DIR/h2-instr.tsv" | cut -f5) instructions per request"
}

h2_report() {  # h2_report LOAD_TSV INSTR_TSV -> markdown: medians over the rounds, ratio to nginx-h2
    echo
    echo "## HTTP/2 clients (h2load, prior knowledge; 1 worker, 200 B, $H2_CONNS connections x $H2_STREAMS streams)"
    echo
    echo "| target | req/s (median of rounds) | p50 µs | p99 µs | CPU µs/req | instructions/req | rounds |"
    echo "|---|---|---|---|---|---|---|"
    awk -F'\t' -v itsv="$2" '
        BEGIN { while ((getline l < itsv) > 0) { split(l, f, "\t"); if (f[1] != "target") ir[f[1]] = f[5] } }
        NR > 1 { k = $2; n[k]++; rps[k, n[k]] = $5; p50[k, n[k]] = $6; p99[k, n[k]] = $7; cpu[k, n[k]] = $8; if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
        function med(a, k, c,   i, j, t, v) { for (i = 1; i <= c; i++) v[i] = a[k, i]
            for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
            return v[int((c + 1) / 2)] }
        END { for (x = 1; x <= m; x++) { k = order[x]
                printf "| %s | %.0f | %s | %s | %s | %s | %d |\n", k, med(rps, k, n[k]), med(p50, k, n[k]), med(p99, k, n[k]), med(cpu, k, n[k]), (k in ir) ? ir[k] : "-", n[k] }
              for (k in ir) if (!(k in seen)) printf "| %s | - | - | - | - | %s | 0 |\n", k, ir[k] }' "$1"
    echo
    echo "m2m-proxy hands each HTTP/2 stream's head and body to an HTTP/1.1 exchange as values and calls and gets its response back the same way (README \"HTTP/2 and gRPC\"); nginx-h2 is nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*\///') with \`listen ... http2\`, proxy_pass as the nginx target. h2load $(h2load --version 2>/dev/null | awk '{print $2; exit}')."
}

h2_main
