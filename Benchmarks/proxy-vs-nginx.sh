#!/usr/bin/env bash
# proxy-vs-nginx.sh — the old name of Benchmarks/compare.sh (m2m-proxy vs nginx vs HAProxy vs
# the upstream direct, one run, interleaved rounds). Same arguments and knobs: see
#   bash Benchmarks/compare.sh --help
exec bash "$(dirname "${BASH_SOURCE[0]}")/compare.sh" "$@"
