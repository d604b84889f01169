#!/usr/bin/env bash
# test.sh — the ONE test command (README, .ci/run):  bash scripts/test.sh
#
# Installs the system packages the build and the tests need (scripts/install-deps.sh build test
# compose; needs root unless they are already installed), then runs, in order, stopping at the
# first red stage:
#   suite   swift build + swift test: unit and integration tests (the integration tests start a
#           real OAuth 2.0 server themselves; ComposeFileTests validate docker-compose.yml with
#           docker-compose 2.x, no Docker engine)                              ~3-5 min
#   runtime scripts/runtime-check.sh: the Docker runtime stage proven without Docker: a cached
#           debootstrapped bookworm root with `install-deps.sh runtime`, the release binary
#           (built as the Dockerfile builds it) started in it as uid 10001 with the compose
#           demo's config; health check script and a proxied Bearer request must pass. Needs
#           root or sudo. Cold (root not cached): ~4 min + the release build; warm: ~6 s +
#           the release build, which the soak stage then reuses
#   asan    the whole suite again, built with AddressSanitizer (.build-asan)   ~5 min
#   tsan    the whole suite again, built with ThreadSanitizer (.build-tsan)    ~6 min
#   fuzz    each libFuzzer harness, fixed seed and inputs, <= FUZZ_SECONDS (60) each ~5 min
#   soak    Benchmarks/soak.sh --ci: 3 minutes of mixed traffic and faults     ~4 min
#
#   bash scripts/test.sh                 all stages (what CI runs)
#   bash scripts/test.sh --quick         the suite only
#   bash scripts/test.sh --only tsan     one stage (suite, runtime, asan, tsan, fuzz, soak)
#
# Sanitizer stages: the proxies the integration tests spawn are the sanitized binary too and
# write their reports to files (ASAN_OPTIONS/TSAN_OPTIONS log_path), since their stderr goes to
# the tests' scratch directories; any report fails the stage. A test that fails under a
# sanitizer's slowdown without a report is run once more (the suite stage has already checked
# behaviour at full speed); failing twice fails the stage.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stages=(suite runtime asan tsan fuzz soak)
case ${1:-} in
    --quick) stages=(suite) ;;
    --only) stages=("${2:?--only needs a stage name}") ;;
    "") ;;
    *) echo "usage: bash scripts/test.sh [--quick | --only STAGE]" >&2; exit 2 ;;
esac

groups=(build test compose)
if [[ ${SKIP_INSTALL:-0} == 1 ]]; then
    echo "test.sh: SKIP_INSTALL=1, not installing system packages"
elif [[ $(id -u) == 0 ]]; then
    bash scripts/install-deps.sh "${groups[@]}"
elif command -v sudo >/dev/null 2>&1; then
    sudo bash scripts/install-deps.sh "${groups[@]}"
else
    echo "test.sh: not root and no sudo: assuming the packages of scripts/install-deps.sh ${groups[*]} are installed" >&2
fi

work=$(mktemp -d /tmp/m2m-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
summary=()
started=$SECONDS

note() { summary+=("$1"); echo "test.sh: $1"; }

# Runs `swift test` with the given extra arguments; prints the result lines; returns its status.
run_suite() { # log args...
    local log=$1; shift
    local rc=0
    swift test "$@" 2>&1 | tee "$log" || rc=$?
    grep -E "Test run with [0-9]+ tests?|Executed [0-9]+ tests?, with" "$log" | tail -n 2 || true
    return "$rc"
}

stage_suite() {
    echo "test.sh: swift build"
    swift build || { note "suite: FAILED (swift build)"; return 1; }
    echo "test.sh: swift test"
    local t0=$SECONDS
    if run_suite "$work/suite.log"; then
        note "suite: passed ($(grep -oE 'Test run with [0-9]+ tests?' "$work/suite.log" | tail -1), $((SECONDS - t0)) s)"
    else
        note "suite: FAILED"
        return 1
    fi
}

stage_sanitizer() { # address|thread
    local san=$1 short=${1:0:1}san
    local scratch=".build-$short" reports="$work/$short-reports"
    mkdir -p "$reports"
    local t0=$SECONDS
    echo "test.sh: $short: building with -sanitize=$san into $scratch"
    swift build --build-tests --sanitize="$san" --scratch-path "$scratch" \
        || { note "$short: FAILED (build)"; return 1; }
    # Leak detection on; the test runner's own leaks (XCTest, Foundation; explained in the file)
    # are suppressed by frame name. print_suppressions=0: a process whose only leaks are
    # suppressed writes nothing, so any report file is a finding.
    export ASAN_OPTIONS="detect_leaks=1:log_path=$reports/report"
    export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan-suppressions.txt:print_suppressions=0"
    export TSAN_OPTIONS="log_path=$reports/report"
    local rc=0
    run_suite "$work/$short.log" --skip-build --sanitize="$san" --scratch-path "$scratch" || rc=$?
    if [[ $rc != 0 ]]; then
        echo "test.sh: $short: the suite failed once under the sanitizer; running it again"
        rc=0
        run_suite "$work/$short-again.log" --skip-build --sanitize="$san" --scratch-path "$scratch" || rc=$?
    fi
    unset ASAN_OPTIONS TSAN_OPTIONS LSAN_OPTIONS
    local found
    found=$(find "$reports" -type f -size +0 | sort)
    if [[ -n $found ]]; then
        echo "test.sh: $short: sanitizer reports:"
        for f in $found; do echo "== $f"; head -n 60 "$f"; done
        note "$short: FAILED ($(echo "$found" | wc -l) report file(s))"
        return 1
    fi
    if [[ $rc != 0 ]]; then
        note "$short: FAILED (tests failed twice, no sanitizer report)"
        return 1
    fi
    note "$short: passed, no reports ($(grep -ohE 'Test run with [0-9]+ tests?' "$work/$short"*.log | tail -1), $((SECONDS - t0)) s)"
}

stage_runtime() {
    local t0=$SECONDS bin
    echo "test.sh: runtime: swift build -c release --static-swift-stdlib --product m2m-proxy (as the Dockerfile)"
    swift build -c release --static-swift-stdlib --product m2m-proxy >"$work/runtime-build.log" 2>&1 \
        || { tail -n 30 "$work/runtime-build.log"; note "runtime: FAILED (release build)"; return 1; }
    bin=$(swift build -c release --static-swift-stdlib --show-bin-path)/m2m-proxy
    local as_root=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || { note "runtime: FAILED (needs root or sudo: debootstrap, chroot, mount)"; return 1; }
        as_root=(sudo)
    fi
    # Cold (no cached root) ~4 min; a stuck mirror or chroot must not hold CI.
    if "${as_root[@]}" env M2M_BINARY="$bin" timeout "${RUNTIME_CHECK_TIMEOUT:-1200}" bash scripts/runtime-check.sh 2>&1 | tee "$work/runtime.log"; then
        note "runtime: passed ($(grep -oE 'root [0-9]+ s, release build [0-9]+ s, checks [0-9]+ s' "$work/runtime.log" | tail -1); $((SECONDS - t0)) s with the release build)"
    else
        note "runtime: FAILED (see above)"
        return 1
    fi
}

stage_asan() { stage_sanitizer address; }
stage_tsan() { stage_sanitizer thread; }

stage_fuzz() {
    local t0=$SECONDS secs=${FUZZ_SECONDS:-60}
    # A fixed seed and a fixed number of inputs per target (scripts/fuzz.sh explains): the same
    # inputs on every CI run, ones a 120 s run of that seed went through clean (seconds = a cap).
    local runs=${FUZZ_RUNS-"request=250000 router=900000 config=150000 token=900000 h2frames=800000"}
    if FUZZ_SEED=${FUZZ_SEED:-20261123} FUZZ_RUNS=$runs bash scripts/fuzz.sh "$secs" | tee "$work/fuzz.log"; then
        note "fuzz: no crashes, ${secs} s per target, seed ${FUZZ_SEED:-20261123} ($(grep -oE '^[a-z0-9]+: [0-9]+ executions' "$work/fuzz.log" | paste -sd, -); $((SECONDS - t0)) s)"
    else
        note "fuzz: FAILED (see above)"
        return 1
    fi
}

stage_soak() {
    local t0=$SECONDS
    # The suite stage's debug build is not what users run: soak the release build.
    if bash Benchmarks/soak.sh --ci 2>&1 | tee "$work/soak.log"; then
        note "soak: passed ($((SECONDS - t0)) s)"
    else
        note "soak: FAILED (see above)"
        return 1
    fi
}

rc=0
for s in "${stages[@]}"; do
    echo
    echo "test.sh: ===== stage $s ====="
    if ! "stage_$s"; then rc=1; break; fi
done
echo
echo "test.sh: summary ($((SECONDS - started)) s)"
for line in "${summary[@]}"; do echo "  $line"; done
exit "$rc"
