#!/usr/bin/env bash
# Builds the libFuzzer harnesses (Fuzz/build.sh) and runs each for SECONDS_PER_TARGET (default
# 60) on its committed seed corpus. Prints executions per target; exits non-zero on a crash and
# keeps the input as .build-fuzz/artifacts/<target>/crash-* (reproduce: .build-fuzz/fuzz-<target> FILE).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      targets: request router config token h2frames
#
# FUZZ_SEED=N makes a run reproducible: libFuzzer's mutations follow the seed, and the grown corpus
# of earlier runs is left out (only the committed seeds are read), so a slower machine runs a prefix
# of the same input sequence. CI (scripts/test.sh) uses a fixed seed so that a red fuzz stage means
# a change broke something, not that a random walk found an old bug; campaigns without a seed
# (the default) are how new bugs are found, and each crash input joins Fuzz/corpus/<target>/.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(request router config token h2frames)

Fuzz/build.sh "${targets[@]}" || exit 2

# Swift's own crash backtracer would keep the output pipe open for up to its timeout and print
# a second stack; libFuzzer and ASan report the crash themselves.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}

failed=()
for t in "${targets[@]}"; do
    art="$root/.build-fuzz/artifacts/$t"
    work="$root/.build-fuzz/corpus/$t"   # grown corpus; the committed seeds stay untouched
    seed_args=()
    if [ -n "${FUZZ_SEED:-}" ]; then
        work="$root/.build-fuzz/corpus-seeded/$t"
        rm -rf "$work"
        seed_args=(-seed="$FUZZ_SEED")
    fi
    for spec in ${FUZZ_RUNS:-}; do
        [ "${spec%%=*}" = "$t" ] && seed_args+=(-runs="${spec#*=}")
    done
    log="$root/.build-fuzz/$t.log"
    mkdir -p "$art" "$work"
    echo "== $t: ${secs}s"
    "$root/.build-fuzz/fuzz-$t" "${seed_args[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/" "$work" "$root/Fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    grep -E '^#[0-9]+ +DONE' "$log" | tail -1
    echo "$t: ${execs:-?} executions, exit $rc"
    if [ $rc -ne 0 ]; then
        failed+=("$t")
        grep -E 'ERROR|invariant|Fatal error|SUMMARY|Test unit written' "$log" | head -8
        echo "$t: full report in $log"
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: no crashes"
