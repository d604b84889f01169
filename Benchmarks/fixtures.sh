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
