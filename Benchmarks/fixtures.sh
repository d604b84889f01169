# fixtures.sh — helpers shared by the scripts that drive the proxy with Tests/Fixtures (sourced).

# Waits for `PORT=<n>` in a fixture's stdout file and prints n.
port_of() {
    for _ in $(seq 100); do
        if grep -q '^PORT=' "$1" 2>/dev/null; then grep -m1 '^PORT=' "$1" | cut -d= -f2; return; fi
        sleep 0.1
    done
    echo "fixture did not start: $1" >&2; exit 1
}

# A free TCP port on 127.0.0.1 (picked by the kernel).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The benchmarks' m2m-proxy config: one route /api -> 127.0.0.1:UPSTREAM_PORT with a credential
# whose token endpoint is 127.0.0.1:TOKEN_PORT, no admin listener, no access log.
#   m2m_bench_conf LISTEN_PORT WORKERS TOKEN_PORT UPSTREAM_PORT [SERVER_LINES] [LIMITS_LINES]
m2m_bench_conf() {
    cat <<CONF
# written by Benchmarks/$(basename "$0")
[server]
listen = "127.0.0.1:$1"
workers = $2
admin_listen = ""
access_log = false          # nginx and haproxy log nothing either
${5:-}

[limits]
${6:-}

[credential.bench]
token_url = "http://127.0.0.1:$3/oidc/token"
client_id = "bench-client"
client_secret = "bench-secret"
prefetch = true

[[route]]
name = "bench"
path_prefix = "/api"
upstream = "http://127.0.0.1:$4"
credential = "bench"
resource = "https://api.bench.invalid/items"
scopes = ["read:items"]
CONF
}
