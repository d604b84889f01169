#!/usr/bin/env bash
# install-deps.sh — the one place that installs m2m-proxy's system packages.
# Used by the README, .ci/run and the Dockerfile. Idempotent; run as root.
#
#   scripts/install-deps.sh [GROUP ...]
#   scripts/install-deps.sh --list [GROUP ...]   print the packages the groups install, one a
#                                                line (trixie ones as NAME/trixie); no root needed
#     build    libuv1-dev, libllhttp-dev (from Debian trixie, pinned low), libssl-dev, libhiredis-dev
#              (RESP encoding/decoding for [token_store]), libnghttp2-dev (HTTP/2), pkg-config
#     runtime  exactly libuv1, libllhttp9.2, libssl3, libhiredis0.14, libnghttp2-14, ca-certificates:
#              what the Docker runtime stage adds to debian:bookworm-slim. The binary (built with --static-swift-stdlib)
#              also needs libc6, libstdc++6 and libgcc-s1, which the slim image already has
#              (apt depends on them); libssl3 + ca-certificates for TLS (system trust store).
#     test     build + nghttp2-client, python3, curl, openssl, the real OAuth2 server (glewlwyd),
#              redis-server, redis-sentinel, redis-tools (the token store tests);
#              postgresql (ProvisionSQLTests run deploy/compose/provision-m2m.sql against a
#              throwaway cluster); debootstrap (test.sh stage `runtime`: scripts/runtime-check.sh)
#     bench    build + nghttp2-client (h2load), redis-server, redis-tools, python3, curl, nginx-light, haproxy, wrk, valgrind, strace, binutils (objcopy)
#     compose  docker-compose 2.x (from trixie, pinned low) to validate docker-compose.yml
#              with `docker-compose config`; no Docker engine is installed
#   default: build test
#
# Why trixie: libllhttp is packaged only from Debian 13 on. We add trixie as a
# source with Pin-Priority 100, so nothing upgrades from it by accident, and take
# exactly libllhttp9.2/libllhttp-dev from it (they depend only on libc6), and for the
# compose group docker-compose 2.x (a static Go binary; depends only on libc6 >= 2.34;
# its Recommends docker-cli/docker-buildx are skipped by --no-install-recommends).
set -euo pipefail

list_only=0
if [ "${1:-}" = --list ]; then list_only=1; shift; fi
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build test)

want=()
trixie_want=()     # packages taken from trixie, beyond libllhttp
need_trixie=0
need_llhttp=0
for g in "${groups[@]}"; do
  case "$g" in
    build)   want+=(libuv1-dev libssl-dev libhiredis-dev libnghttp2-dev pkg-config); need_trixie=1; need_llhttp=1 ;;
    runtime) want+=(libuv1 libssl3 libhiredis0.14 libnghttp2-14 ca-certificates); need_trixie=1; need_llhttp=1 ;;
    test)    want+=(libuv1-dev libssl-dev libhiredis-dev libnghttp2-dev nghttp2-client pkg-config redis-server redis-sentinel redis-tools python3 curl openssl ca-certificates
                    glewlwyd dbconfig-sqlite3 sqlite3 jq util-linux iproute2 procps postgresql debootstrap python3-pip nginx-light); need_trixie=1; need_llhttp=1 ;;
    bench)   want+=(libuv1-dev libssl-dev libhiredis-dev libnghttp2-dev nghttp2-client pkg-config redis-server redis-tools python3 curl openssl nginx-light haproxy wrk valgrind strace binutils
                    util-linux iproute2 procps); need_trixie=1; need_llhttp=1 ;;
    compose) trixie_want+=(docker-compose); need_trixie=1 ;;
    *) echo "install-deps: unknown group '$g' (build|runtime|test|bench|compose)" >&2; exit 64 ;;
  esac
done

if [ "$list_only" = 1 ]; then
  {
    printf '%s\n' "${want[@]}"
    if [ "$need_llhttp" = 1 ]; then
      echo libllhttp9.2/trixie
      printf '%s\n' "${groups[@]}" | grep -qxE 'build|test|bench' && echo libllhttp-dev/trixie
    fi
    for p in "${trixie_want[@]}"; do echo "$p/trixie"; done
  } | grep -v "^$" | sort -u
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get)" >&2; exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Serialize against parallel callers (tests may call this too).
exec 9>/tmp/m2m-proxy-apt.lock
flock 9

trixie_list=/etc/apt/sources.list.d/m2m-proxy-trixie.list
trixie_pin=/etc/apt/preferences.d/m2m-proxy-trixie
changed=0
if [ "$need_trixie" = 1 ]; then
  if [ ! -f "$trixie_list" ]; then
    echo "deb http://deb.debian.org/debian trixie main" > "$trixie_list"
    changed=1
  fi
  if [ ! -f "$trixie_pin" ]; then
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > "$trixie_pin"
    changed=1
  fi
fi

# glewlwyd's postinst asks debconf and tries to start a system service; answer
# "No configuration" and keep services from starting where no policy exists.
if printf '%s\n' "${want[@]}" | grep -qx glewlwyd; then
  echo "glewlwyd glewlwyd/config_type select No configuration" | debconf-set-selections 2>/dev/null || true
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
llhttp=()   # everything installed from trixie (libllhttp, docker-compose)
if [ "$need_llhttp" = 1 ]; then
  for p in libllhttp9.2 $(printf '%s\n' "${groups[@]}" | grep -qxE 'build|test|bench' && echo libllhttp-dev); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || llhttp+=("$p/trixie")
  done
fi
for p in "${trixie_want[@]}"; do
  # bookworm has docker-compose 1.29 (python, no `config` parity); only trixie's 2.x counts
  v=$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>/dev/null || true)
  case "$v" in
    "install ok installed "*) dpkg --compare-versions "${v##* }" ge 2 || llhttp+=("$p/trixie") ;;
    *) llhttp+=("$p/trixie") ;;
  esac
done

# PyPI packages of the test group (grpcio: the gRPC tests' server and client), for the python
# the tests run (/usr/bin/python3); only when missing, after the system packages.
pip_packages() {
  printf '%s\n' "${groups[@]}" | grep -qx test || return 0
  /usr/bin/python3 -c 'import grpc' 2>/dev/null && return 0
  /usr/bin/python3 -m pip install --quiet --break-system-packages grpcio==1.85.4
  /usr/bin/python3 -c 'import grpc' && echo "install-deps: installed grpcio==1.85.4 (pip)"
}

if [ ${#missing[@]} -eq 0 ] && [ ${#llhttp[@]} -eq 0 ]; then
  echo "install-deps: all packages present (${groups[*]})"
  pip_packages
  exit 0
fi

stamp=/var/lib/apt/periodic/m2m-proxy-update-stamp
if [ "$changed" = 1 ] || [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +360 2>/dev/null)" ]; then
  apt-get update -qq
  mkdir -p "$(dirname "$stamp")"; touch "$stamp"
fi

policy_added=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy_added=1
fi
trap '[ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT

apt-get install -y -qq --no-install-recommends "${missing[@]}" "${llhttp[@]}"
echo "install-deps: installed ${missing[*]} ${llhttp[*]}"
pip_packages
