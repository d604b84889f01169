/// What resolves and connects a socket to an endpoint of `pool`: an HTTP/1.1 `UpstreamConnection`
/// and the endpoint's `H2UpstreamSession`, which share these steps but not their state type.
/// Extension methods on final classes: static calls, specialized in the module.
protocol UpstreamDialer: UVStream {
    var pool: UpstreamPool { get }
    /// Still waiting for DNS (not given up, not failed): a late answer is dropped otherwise.
    var isResolving: Bool { get }
    /// The address is known: the state becomes "connecting".
    func markConnecting()
    /// Ends the attempt with a failure of `kind` (logged with `message`).
    func fail(_ message: String, kind: UpstreamErrorKind)
}

extension UpstreamDialer {
    /// Resolves (unless DNS already gave the address) and connects, TLS first for https.
    func resolveAndConnect() {
        if let address = pool.address {
            connectResolved(address)
            return
        }
        io.resolver.resolve(host: pool.host, port: pool.port) { [self] result in
            guard isResolving, !isClosing else { return }
            switch result {
            case .success(let address):
                connectResolved(address)
            case .failure(let error):
                fail("cannot resolve upstream host \(pool.host): \(error.message)", kind: .resolveFailed)
            }
        }
    }

    /// `onConnect`'s verdict once the socket (and TLS handshake) finished: false when it failed
    /// (reported through `fail`, TLS blamed for a handshake failure), true when connected.
    func connectSucceeded(_ error: UVError?) -> Bool {
        if let error, error == .eproto {
            fail("TLS handshake with upstream failed: \(tlsFailure ?? "unknown error")", kind: .tls)
            return false
        }
        if let error {
            fail("cannot connect to upstream: \(error.message)", kind: UpstreamErrorKind.connect(error))
            return false
        }
        if isTLS { pool.tlsSessions.countHandshake(resumed: tlsSessionReused) }
        return true
    }

    private func connectResolved(_ address: SocketAddress) {
        markConnecting()
        if let tlsError = startTLS() {
            fail("TLS setup for upstream failed: \(tlsError)", kind: .tls)
            return
        }
        do throws(UVError) {
            try connect(to: address)
        } catch {
            fail("cannot connect to upstream: \(error.message)", kind: UpstreamErrorKind.connect(error))
        }
    }

    /// For an https upstream: TLS from the pool's context, resuming one of its sessions.
    private func startTLS() -> String? {
        guard let context = pool.tlsContext else { return nil }
        switch context {
        case .success(let ctx):
            return enableClientTLS(ctx, serverName: pool.host, resume: pool.tlsSessions.take()) ? nil : "cannot create a TLS connection"
        case .failure(let e):
            return e.message
        }
    }
}
