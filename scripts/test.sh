#!/usr/bin/env bash
# test.sh — the ONE test command (README, .ci/run):  bash scripts/test.sh
#
# Installs the system packages the build and the tests need (scripts/install-deps.sh build test
# compose; needs root unless they are already installed), then builds and runs the whole test
# suite (unit + integration; the integration tests start a real OAuth 2.0 server themselves, and
# ComposeFileTests validate docker-compose.yml with docker-compose 2.x, no Docker engine).
# Swift Testing runs tests in parallel inside one process; nothing else is parallelized here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ${SKIP_INSTALL:-0} == 1 ]]; then
    echo "test.sh: SKIP_INSTALL=1, not installing system packages"
elif [[ $(id -u) == 0 ]]; then
    bash scripts/install-deps.sh build test compose
elif command -v sudo >/dev/null 2>&1; then
    sudo bash scripts/install-deps.sh build test compose
else
    echo "test.sh: not root and no sudo: assuming the packages of scripts/install-deps.sh build test compose are installed" >&2
fi

echo "test.sh: swift build"
swift build
echo "test.sh: swift test"
log=$(mktemp /tmp/m2m-test.XXXXXX)
trap 'rm -f "$log"' EXIT
rc=0
swift test 2>&1 | tee "$log" || rc=$?
echo
echo "test.sh: summary (swift test exit status $rc)"
grep -E "Executed [0-9]+ tests?, with" "$log" | tail -n 1 || true
grep -E "Test run with [0-9]+ tests?" "$log" | tail -n 1 || true
exit "$rc"
