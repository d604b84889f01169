#!/usr/bin/env bash
# demo.sh — m2m-proxy end to end, in one command (run as root on Debian 12):
#
#   bash scripts/demo.sh
#
# 1. installs the system packages (scripts/install-deps.sh build test) and builds the release binary
# 2. starts a REAL OAuth 2.0 server (Glewlwyd, scripts/real-idp-up.sh) with one M2M client
# 3. starts a demo upstream (scripts/demo-upstream.py) that echoes the Authorization header it got
# 4. writes a proxy config to a temp dir and starts .build/release/m2m-proxy --config FILE
# 5. sends `curl http://127.0.0.1:PORT/products/42` through the proxy and prints what the
#    upstream received: the Bearer JWT the proxy injected and its decoded claims
# 6. stops everything it started
#
# Every port is picked at run time. Exit status: 0 when the upstream received a Bearer JWT
# through the proxy; non-zero otherwise (with the reason on stderr).
# Env: DEMO_KEEP=1 keeps the temp dir (logs, config) for inspection; SKIP_INSTALL=1 skips apt;
#      SKIP_BUILD=1 uses the existing .build/release/m2m-proxy; DEMO_PROXY_BIN=PATH runs another
#      binary with the same `--config FILE` interface instead.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

say()  { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
info() { printf '    %s\n' "$*"; }
fail() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }

CLIENT_ID=demo-m2m-app
CLIENT_SECRET="demo-secret-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
RESOURCE=https://shopping.api
SCOPE=read:products

WORK=""
UPSTREAM_PID=""
PROXY_PID=""
IDP_DIR=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # stop only what this script started, by pid
    if [[ -n $PROXY_PID ]] && kill -0 "$PROXY_PID" 2>/dev/null; then
        kill -TERM "$PROXY_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PROXY_PID" 2>/dev/null || true
    fi
    if [[ -n $UPSTREAM_PID ]] && kill -0 "$UPSTREAM_PID" 2>/dev/null; then
        kill -TERM "$UPSTREAM_PID" 2>/dev/null || true
    fi
    if [[ -n $IDP_DIR && -x $IDP_DIR/stop.sh ]]; then "$IDP_DIR/stop.sh" || true; fi
    wait 2>/dev/null || true
    if [[ -n $WORK ]]; then
        if [[ ${DEMO_KEEP:-0} == 1 || $rc != 0 ]]; then
            printf '\ndemo: logs and config kept in %s\n' "$WORK" >&2
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {  # a port that was free a moment ago (the kernel picks it)
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_tcp() {   # wait_tcp PORT PID TIMEOUT_S — poll until PORT accepts; fail early if PID died
    local port=$1 pid=$2 t=$3 i
    for ((i = 0; i < t * 20; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || return 2
        sleep 0.05
    done
    return 1
}

# ---------------------------------------------------------------- 1. deps + build
say "1/6 system packages and release build"
if [[ ${SKIP_INSTALL:-0} != 1 ]]; then
    [[ $(id -u) == 0 ]] || fail "run as root (installs Debian packages), or set SKIP_INSTALL=1"
    bash scripts/install-deps.sh build test
fi
WORK=$(mktemp -d /tmp/m2m-demo.XXXXXX)
chmod 700 "$WORK"
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    info "swift build -c release (log: $WORK/build.log)"
    swift build -c release --static-swift-stdlib >"$WORK/build.log" 2>&1 || { tail -n 30 "$WORK/build.log" >&2; fail "swift build -c release failed"; }
    tail -n 1 "$WORK/build.log" | sed 's/^/    /'
fi
BIN=${DEMO_PROXY_BIN:-$ROOT/.build/release/m2m-proxy}
[[ -x $BIN ]] || fail "$BIN not found"
info "binary: $BIN"

# ---------------------------------------------------------------- 2. IdP
say "2/6 real OAuth 2.0 server (Glewlwyd) with M2M client '$CLIENT_ID'"
IDP_DIR=$WORK/idp
idp_ok=0
for _ in 1 2 3; do   # a port picked at run time can be taken in between: retry with another
    IDP_PORT=$(free_port)
    if IDP_RESOURCES=$RESOURCE bash scripts/real-idp-up.sh "$IDP_DIR" "$IDP_PORT" "$CLIENT_ID" \
            "$CLIENT_SECRET" "$SCOPE" 300 >"$WORK/idp-up.out" 2>&1; then
        idp_ok=1; break
    fi
done
if [[ $idp_ok != 1 ]]; then cat "$WORK/idp-up.out" >&2; fail "the OAuth 2.0 server did not start"; fi
TOKEN_URL="http://127.0.0.1:$IDP_PORT/api/oidc/token"
info "token endpoint: $TOKEN_URL (resource $RESOURCE, scope $SCOPE, token lifetime 300 s)"
# Sanity check of the credential the proxy will use (mints one token, directly, not via the proxy).
tok_json=$(curl -sS --max-time 10 -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials \
    --data-urlencode "scope=$SCOPE" --data-urlencode "resource=$RESOURCE" "$TOKEN_URL") \
    || fail "token endpoint unreachable"
python3 - "$tok_json" <<'PY' || fail "the IdP did not issue a token to $CLIENT_ID"
import base64, json, sys
try:
    r = json.loads(sys.argv[1])
    p = r["access_token"].split(".")[1]
    c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
except Exception as e:  # never print the answer itself: it may hold a token
    print(f"    IdP check: unusable token answer ({type(e).__name__})", file=sys.stderr)
    sys.exit(1)
tt, ei, aud = r.get("token_type"), r.get("expires_in"), c.get("aud")
print(f"    IdP check: client_credentials grant works (token_type {tt}, expires_in {ei}, aud {aud})")
PY

# ---------------------------------------------------------------- 3. upstream
say "3/6 demo upstream (echoes the Authorization header it receives)"
python3 scripts/demo-upstream.py --port 0 --port-file "$WORK/upstream.port" \
    >"$WORK/upstream.log" 2>&1 &
UPSTREAM_PID=$!
for _ in $(seq 1 200); do
    [[ -s $WORK/upstream.port ]] && break
    kill -0 "$UPSTREAM_PID" 2>/dev/null || { cat "$WORK/upstream.log" >&2; fail "demo upstream exited"; }
    sleep 0.05
done
[[ -s $WORK/upstream.port ]] || fail "demo upstream did not report its port"
UPSTREAM_PORT=$(<"$WORK/upstream.port")
wait_tcp "$UPSTREAM_PORT" "$UPSTREAM_PID" 10 || fail "demo upstream not listening on $UPSTREAM_PORT"
direct=$(curl -sS --max-time 5 "http://127.0.0.1:$UPSTREAM_PORT/products/42") \
    || fail "demo upstream does not answer"
info "upstream: http://127.0.0.1:$UPSTREAM_PORT (direct request without the proxy: Authorization = $(
    python3 -c 'import json,sys; print(json.load(sys.stdin)["authorization"])' <<<"$direct"))"

# ---------------------------------------------------------------- 4. config + proxy
say "4/6 proxy config and m2m-proxy"
PROXY_PORT=$(free_port)
CONF=$WORK/proxy.conf
cat >"$CONF" <<EOF
# written by scripts/demo.sh
[server]
listen = "127.0.0.1:$PROXY_PORT"
admin_listen = ""

[credential.demo]
token_url = "$TOKEN_URL"
client_id = "$CLIENT_ID"
client_secret = "$CLIENT_SECRET"

[[route]]
path_prefix = "/products"
upstream = "http://127.0.0.1:$UPSTREAM_PORT"
credential = "demo"
resource = "$RESOURCE"
scopes = ["$SCOPE"]
EOF
chmod 600 "$CONF"
info "config: $CONF"
sed -e 's/^client_secret = .*/client_secret = "***"/' -e 's/^/      /' "$CONF"

"$BIN" --config "$CONF" >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
rc=0; wait_tcp "$PROXY_PORT" "$PROXY_PID" 15 || rc=$?
if [[ $rc != 0 ]]; then
    if [[ $rc == 2 ]]; then
        st=0; wait "$PROXY_PID" || st=$?
        PROXY_PID=""
        why="m2m-proxy exited with status $st before listening on 127.0.0.1:$PROXY_PORT"
    else
        why="m2m-proxy did not listen on 127.0.0.1:$PROXY_PORT within 15 s"
    fi
    {
        echo "--- m2m-proxy output (last 20 lines):"
        tail -n 20 "$WORK/proxy.log" | sed 's/^/    /'
        echo "--- the IdP and the upstream were up and answering; the proxy step is what failed."
    } >&2
    fail "$why"
fi
info "m2m-proxy pid $PROXY_PID listening on 127.0.0.1:$PROXY_PORT"

# ---------------------------------------------------------------- 5. request through the proxy
say "5/6 curl -s http://127.0.0.1:$PROXY_PORT/products/42"
code=$(curl -s -o "$WORK/response.json" -w '%{http_code}' --max-time 15 \
    "http://127.0.0.1:$PROXY_PORT/products/42") || code=000
info "HTTP $code"
if [[ $code != 200 ]]; then
    sed 's/^/    /' "$WORK/response.json" >&2 2>/dev/null || true
    fail "the proxy answered HTTP $code (want 200 from the upstream)"
fi

# ---------------------------------------------------------------- 6. what the upstream saw
say "6/6 what the upstream received"
python3 - "$WORK/response.json" "$RESOURCE" "$SCOPE" <<'PY'
import json, sys, time
r = json.load(open(sys.argv[1]))
want_aud, want_scope = sys.argv[2], sys.argv[3]
print(f"    {r.get('method')} {r.get('path')}  Host: {r.get('host')}")
print(f"    Authorization: {r.get('authorization')}  ({r.get('token_length', 0)} chars)")
jwt = r.get("jwt")
if not r.get("scheme") or r["scheme"].lower() != "bearer" or not jwt:
    print(f"demo: FAILED: the upstream did not receive a Bearer JWT "
          f"(Authorization: {r.get('authorization')}, {r.get('jwt_error', '')})", file=sys.stderr)
    sys.exit(1)
c = jwt["claims"]
print(f"    JWT header: alg={jwt['header'].get('alg')} typ={jwt['header'].get('typ')}")
print(f"    claims: aud   = {c.get('aud')}")
print(f"            sub   = {c.get('sub')}")
print(f"            scope = {c.get('scope')}")
exp = c.get("exp")
if isinstance(exp, (int, float)):
    print(f"            exp   = {exp} ({time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(exp))}, "
          f"in {int(exp - time.time())} s)")
if c.get("aud") != want_aud:
    print(f"    warning: aud is not the configured resource {want_aud}")
if want_scope not in str(c.get("scope", "")).split():
    print(f"    warning: scope {want_scope} was not granted")
if r.get("forwarded"):
    print(f"    forwarding headers: {json.dumps(r['forwarded'])}")
PY
printf '\ndemo: OK — the upstream received a Bearer JWT injected by m2m-proxy (signature not checked by the demo upstream)\n'
