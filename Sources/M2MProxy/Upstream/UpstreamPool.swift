/// Keep-alive connections to one upstream (scheme, host:port and TLS settings), per loop. Idle
/// connections are reused most-recently-used first, so a burst's extra connections age out and
/// the upstream sees as few connections as the load needs.
final class UpstreamPool {
    let slot: Int
    let host: String
    let port: UInt16
    /// TLS settings for an https upstream, nil for http.
    let tlsSettings: TLSClientSettings?
    /// The context new connections use (rebuilt on reload), or why it could not be built.
    var tlsContext: Result<TLSContext, TLSError>?
    /// The last session the upstream gave us: new connections resume it (TLS 1.3 tickets
    /// arrive after the handshake, through `onTLSSession`).
    var resumption: TLSResumption?
    unowned(unsafe) let worker: Worker
    private var idle: [UpstreamConnection] = []
    let maxIdle: Int

    init(slot: Int, host: String, port: UInt16, tls: TLSClientSettings?, worker: Worker, maxIdle: Int) {
        self.slot = slot
        self.host = host
        self.port = port
        tlsSettings = tls
        self.worker = worker
        self.maxIdle = maxIdle
        idle.reserveCapacity(maxIdle)
    }

    /// An idle connection that is still open, or nil (the caller then opens a new one).
    func takeIdle() -> UpstreamConnection? {
        while let c = idle.popLast() {
            if !c.isClosing { return c }
        }
        return nil
    }

    func makeConnection() -> UpstreamConnection {
        UpstreamConnection(pool: self)
    }

    /// Returns a connection after a complete exchange; closes it when the pool is full.
    func release(_ c: UpstreamConnection) {
        if idle.count < maxIdle && !c.isClosing {
            c.becomeIdle()
            idle.append(c)
        } else {
            c.close()
        }
    }

    /// An idle connection closed by the upstream (EOF while idle) leaves the pool.
    func remove(_ c: UpstreamConnection) {
        if let i = idle.firstIndex(where: { $0 === c }) { idle.remove(at: i) }
    }

    func closeAll() {
        for c in idle { c.close() }
        idle.removeAll()
    }
}

@available(*, unavailable)
extension UpstreamPool: Sendable {}
