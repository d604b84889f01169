#!/usr/bin/env bash
# m2m-proxy-healthcheck — the image's HEALTHCHECK: GET /healthz on the admin listener
# (server.admin_listen) and succeed only on a 200 status line.
#
# The runtime image has no curl or wget; bash's /dev/tcp does the connect, so no package is added.
#   M2M_HEALTHCHECK_ADDR  host:port of the admin listener (default 127.0.0.1:9901, the default
#                         admin_listen; "[::1]:9901" for IPv6). Set it when admin_listen differs.
#   M2M_HEALTHCHECK_TIMEOUT  seconds to wait for the status line (default 2)
# Exit 0 healthy, 1 unhealthy (with one line on stderr, which `docker inspect` shows).
set -uo pipefail

addr=${M2M_HEALTHCHECK_ADDR:-127.0.0.1:9901}
timeout=${M2M_HEALTHCHECK_TIMEOUT:-2}
port=${addr##*:}
host=${addr%:*}
host=${host#[}; host=${host%]}
case "$host" in ""|0.0.0.0) host=127.0.0.1 ;; ::) host=::1 ;; esac

if ! { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
  echo "m2m-proxy-healthcheck: cannot connect to $addr (is server.admin_listen set to it?)" >&2
  exit 1
fi
printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$addr" >&3
if ! IFS= read -r -t "$timeout" line <&3; then
  echo "m2m-proxy-healthcheck: no answer from $addr within ${timeout}s" >&2
  exit 1
fi
exec 3>&-
line=${line%$'\r'}
case "$line" in
  "HTTP/1."[01]" 200"*) exit 0 ;;
  *) echo "m2m-proxy-healthcheck: GET /healthz on $addr: ${line:-empty answer}" >&2; exit 1 ;;
esac
