#!/usr/bin/env bash
# runtime-check.sh — proves the Docker runtime stage without a Docker engine (test.sh stage
# `runtime`). Needs root (debootstrap, chroot, mount).
#
#   bash scripts/runtime-check.sh
#
# What it does, as the Dockerfile's runtime stage does it:
#   1. a debian:bookworm-slim stand-in: `debootstrap --variant=minbase bookworm` (minbase = the
#      Essential and Priority: required packages plus apt, what the slim image starts from),
#      then `scripts/install-deps.sh runtime` inside it (chroot, /proc mounted), and the same
#      `useradd --uid 10001 m2m` as the Dockerfile. The root is cached in
#      $M2M_ROOTFS_CACHE/rootfs-<hash> (default /var/cache/m2m-proxy), the hash over the runtime
#      package list, the suite and the variant: minutes once per machine, seconds after. A new
#      package list builds a new root; old ones are removed.
#   2. the release binary built as the Dockerfile builds it (`swift build -c release
#      --static-swift-stdlib --product m2m-proxy`), deploy/docker/healthcheck.sh as
#      /usr/local/bin/m2m-proxy-healthcheck, and the compose demo's proxy config
#      (deploy/compose/proxy.conf) with its two compose host names pointed at loopback ports.
#      They go into an overlay over the cached root (the cache is never written to).
#   3. the token double (scripts/token-double.py) and a token-checking upstream
#      (Tests/Fixtures/token_checking_upstream.py) on the host's loopback: a chroot shares the
#      host's network, as `network_mode: host` would.
#   4. the proxy started in the root as uid/gid 10001 (the image's USER), then: `ldd` finds
#      every library; `m2m-proxy check` passes; the health check script, run in the root as
#      uid 10001, exits 0; one request through the proxy reaches the upstream with a valid
#      Bearer token (the upstream checks the JWT's exp and logs the token).
# Every step is bounded by `timeout`; the whole stage is bounded by RUNTIME_CHECK_TIMEOUT
# (default 1500 s, cold) in test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

[[ $(id -u) == 0 ]] || { echo "runtime-check: needs root (debootstrap, chroot, mount)" >&2; exit 1; }
for tool in debootstrap chroot python3 curl redis-server redis-cli; do
    command -v "$tool" >/dev/null || { echo "runtime-check: $tool missing (scripts/install-deps.sh test)" >&2; exit 1; }
done

suite=bookworm variant=minbase
mirror=${DEBOOTSTRAP_MIRROR:-http://deb.debian.org/debian}
cache=${M2M_ROOTFS_CACHE:-/var/cache/m2m-proxy}
# The key: what ends up installed. install-deps.sh --list prints the runtime group's packages.
key=$( { echo "$suite $variant uid=10001"; bash scripts/install-deps.sh --list runtime; } | sha256sum | cut -c1-16)
rootfs=$cache/rootfs-$key
t_start=$SECONDS

log() { echo "runtime-check: $*"; }

work=$(mktemp -d /tmp/m2m-runtime.XXXXXX)
pids=()
mounts=()
cleanup() {
    local p m i
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# ---- 1. the cached root --------------------------------------------------------------------
build_rootfs() {
    local tmp=$cache/.building-$key-$$
    rm -rf "$tmp"; mkdir -p "$tmp"
    log "building $rootfs (debootstrap --variant=$variant $suite; once per package list)"
    local t0=$SECONDS
    timeout 1200 debootstrap --variant="$variant" "$suite" "$tmp" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -n 30 "$work/debootstrap.log" >&2; rm -rf "$tmp"; return 1; }
    cp scripts/install-deps.sh "$tmp/tmp/install-deps.sh"
    mount -t proc proc "$tmp/proc"; mounts+=("$tmp/proc")
    local rc=0
    # Exactly the Dockerfile's runtime RUN line.
    timeout 900 chroot "$tmp" /bin/bash -c '
        bash /tmp/install-deps.sh runtime \
        && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
        && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin m2m \
        && mkdir -p /etc/m2m-proxy' >"$work/install.log" 2>&1 || rc=$?
    umount "$tmp/proc"
    if [[ $rc != 0 ]]; then tail -n 30 "$work/install.log" >&2; rm -rf "$tmp"; return 1; fi
    # install-deps.sh left its apt source and pin behind, as in the image; drop the apt caches.
    rm -rf "$tmp/var/cache/apt/archives/"*.deb
    mv "$tmp" "$rootfs"
    log "root built in $((SECONDS - t0)) s ($(du -sm "$rootfs" | cut -f1) MB)"
}

mkdir -p "$cache"
exec 8>"$cache/.lock"
flock 8
if [[ ! -x $rootfs/usr/sbin/useradd || ! -d $rootfs/etc/m2m-proxy ]]; then
    rm -rf "$rootfs"
    build_rootfs
    # Roots of older package lists are dead weight on a shared machine.
    find "$cache" -maxdepth 1 -name 'rootfs-*' ! -name "rootfs-$key" -exec rm -rf {} +
else
    log "cached root $rootfs"
fi
t_root=$SECONDS

# ---- 2. the release binary, as the Dockerfile builds it ------------------------------------
# M2M_BINARY: a binary built that way already (test.sh builds it as the invoking user, so that
# no root-owned files land in .build).
if [[ -n ${M2M_BINARY:-} ]]; then
    bin=$M2M_BINARY
else
    log "swift build -c release --static-swift-stdlib --product m2m-proxy"
    timeout 1800 swift build -c release --static-swift-stdlib --product m2m-proxy >"$work/build.log" 2>&1 \
        || { tail -n 30 "$work/build.log" >&2; exit 1; }
    bin=$(swift build -c release --static-swift-stdlib --show-bin-path)/m2m-proxy
fi
[[ -x $bin ]] || { echo "runtime-check: no binary at $bin" >&2; exit 1; }
t_build=$SECONDS

# An overlay keeps the cached root read-only; a copy is the fallback where overlayfs is missing.
root=$work/root
mkdir -p "$work/upper" "$work/ovwork" "$root"
if mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$work/upper,workdir=$work/ovwork" "$root" 2>/dev/null; then
    mounts+=("$root")
else
    log "no overlayfs: copying the root"
    cp -a "$rootfs/." "$root/"
fi
mount -t proc proc "$root/proc"; mounts+=("$root/proc")
install -m 0755 "$bin" "$root/usr/local/bin/m2m-proxy"
install -m 0755 deploy/docker/healthcheck.sh "$root/usr/local/bin/m2m-proxy-healthcheck"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # file pattern seconds
    local i
    for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

# ---- 3. the token double and the upstream on loopback --------------------------------------
secret_src=deploy/compose/secrets/logto_app_secret.txt
client_id=runtime-check-app
indicator=https://api.runtime-check.local
token_port=$(free_port)
python3 scripts/token-double.py --host 127.0.0.1 --port "$token_port" --client-id "$client_id" \
    --client-secret-file "$secret_src" >"$work/token.log" 2>&1 &
pids+=($!)
python3 Tests/Fixtures/token_checking_upstream.py --port 0 --log "$work/upstream.jsonl" >"$work/upstream.out" 2>&1 &
pids+=($!)
wait_for "$work/token.log" "listening" 10 || { cat "$work/token.log" >&2; exit 1; }
wait_for "$work/upstream.out" "PORT=" 10 || { cat "$work/upstream.out" >&2; exit 1; }
upstream_port=$(sed -n 's/^PORT=//p' "$work/upstream.out")

# The token store the compose replicas share (valkey there): a real redis-server on loopback
# with the demo password, so the image's hiredis and the store client run too. The password is
# read with the proxy's rule for *_file secrets (one trailing "\n" or "\r\n" removed).
valkey_secret=deploy/compose/secrets/valkey_password.txt
valkey_password=$(python3 -c 'import sys; d = open(sys.argv[1], "rb").read()
d = d[:-2] if d.endswith(b"\r\n") else d[:-1] if d.endswith(b"\n") else d
sys.stdout.write(d.decode())' "$valkey_secret")
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --requirepass "$valkey_password" >"$work/redis.log" 2>&1 &
pids+=($!)
redis() { REDISCLI_AUTH=$valkey_password redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
for ((i = 0; i < 100; i++)); do [[ $(redis ping 2>/dev/null) == PONG ]] && break; sleep 0.1; done
[[ $(redis ping 2>/dev/null) == PONG ]] || { echo "runtime-check: redis-server did not start" >&2; cat "$work/redis.log" >&2; exit 1; }

# The compose demo's config, only its compose service names swapped for loopback ports, and
# its listen address for a free one (the container's 8080 may be taken on the host).
listen_port=$(free_port) admin_port=$(free_port)
sed -e "s#http://logto:3001#http://127.0.0.1:$token_port#" \
    -e "s#http://upstream:8000#http://127.0.0.1:$upstream_port#" \
    -e "s#redis://valkey:6379#redis://127.0.0.1:$redis_port#" \
    -e "s#0.0.0.0:8080#127.0.0.1:$listen_port#" \
    -e "s#127.0.0.1:9901#127.0.0.1:$admin_port#" \
    deploy/compose/proxy.conf >"$root/etc/m2m-proxy/proxy.conf"
grep -q "127.0.0.1:$token_port" "$root/etc/m2m-proxy/proxy.conf" && grep -q "127.0.0.1:$upstream_port" "$root/etc/m2m-proxy/proxy.conf" \
    && grep -q "redis://127.0.0.1:$redis_port" "$root/etc/m2m-proxy/proxy.conf" \
    || { echo "runtime-check: deploy/compose/proxy.conf changed shape; update the sed above" >&2; exit 1; }
mkdir -p "$root/run/secrets"
install -m 0440 -o root -g 10001 "$secret_src" "$root/run/secrets/logto_app_secret"
install -m 0440 -o root -g 10001 "$valkey_secret" "$root/run/secrets/valkey_password"

# ---- 4. the proxy as uid 10001 --------------------------------------------------------------
missing=$(chroot "$root" ldd /usr/local/bin/m2m-proxy | grep "not found" || true)
[[ -z $missing ]] || { echo "runtime-check: libraries missing in the runtime root:" >&2; echo "$missing" >&2; exit 1; }
as_m2m=(chroot --userspec=10001:10001 "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin
        LOGTO_APP_ID="$client_id" LOGTO_API_INDICATOR="$indicator")
timeout 30 "${as_m2m[@]}" m2m-proxy check --config /etc/m2m-proxy/proxy.conf >"$work/check.log" 2>&1 \
    || { echo "runtime-check: m2m-proxy check failed in the root:" >&2; cat "$work/check.log" >&2; exit 1; }
"${as_m2m[@]}" m2m-proxy --config /etc/m2m-proxy/proxy.conf >"$work/proxy.log" 2>&1 &
pids+=($!)
proxy_pid=$!

healthy=0
for ((i = 0; i < 100; i++)); do
    kill -0 "$proxy_pid" 2>/dev/null || { echo "runtime-check: the proxy exited:" >&2; cat "$work/proxy.log" >&2; exit 1; }
    if timeout 10 "${as_m2m[@]}" M2M_HEALTHCHECK_ADDR="127.0.0.1:$admin_port" m2m-proxy-healthcheck 2>"$work/health.err"; then
        healthy=1; break
    fi
    sleep 0.1
done
[[ $healthy == 1 ]] || { echo "runtime-check: health check never passed: $(cat "$work/health.err")" >&2; cat "$work/proxy.log" >&2; exit 1; }
# chroot and env exec: the pid is the proxy's own.
uid=$(awk '/^Uid:/ {print $2}' "/proc/$proxy_pid/status")
[[ $uid == 10001 ]] || { echo "runtime-check: the proxy runs as uid $uid, not 10001" >&2; exit 1; }
log "healthcheck: /healthz 200 through m2m-proxy-healthcheck (uid 10001)"

status=$(timeout 20 curl -sS -o "$work/answer" -w '%{http_code}' "http://127.0.0.1:$listen_port/runtime-check" || true)
[[ $status == 200 ]] || { echo "runtime-check: proxied request answered $status: $(cat "$work/answer" 2>/dev/null)" >&2; cat "$work/proxy.log" >&2; exit 1; }
python3 - "$work/upstream.jsonl" "$indicator" <<'EOF'
import base64, json, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
e = [x for x in entries if x.get("path") == "/runtime-check"]
assert e, "the upstream saw no /runtime-check request: %r" % entries
token = e[-1].get("token") or ""
assert token.count(".") == 2, "no Bearer JWT reached the upstream: %r" % e[-1]
payload = token.split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
assert claims.get("aud") == sys.argv[2], "token for the wrong resource: %r" % claims
assert e[-1].get("status") == 200, e[-1]
EOF
log "proxied request: 200, upstream got a Bearer token for $indicator"
# The token the proxy fetched was shared through the store (sealed; the key is a hash).
for ((i = 0; i < 50; i++)); do (( $(redis dbsize 2>/dev/null || echo 0) > 0 )) && break; sleep 0.1; done
(( $(redis dbsize 2>/dev/null || echo 0) > 0 )) || { echo "runtime-check: nothing reached the token store" >&2; cat "$work/proxy.log" >&2; exit 1; }
log "token store: the token was stored in redis (through the image's hiredis)"
log "passed (root $((t_root - t_start)) s, release build $((t_build - t_root)) s, checks $((SECONDS - t_build)) s)"
