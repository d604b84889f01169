/// Keep-alive connections to one upstream (scheme, host:port and TLS settings), per loop. Idle
/// connections are reused most-recently-used first, so a burst's extra connections age out and
/// the upstream sees as few connections as the load needs. At most `maxIdle` stay idle
/// (`limits.upstream_idle_connections`, like nginx's upstream `keepalive N`); 0 closes every
/// connection after its exchange.
final class UpstreamPool {
    let slot: Int
    let host: String
    let port: UInt16
    /// TLS settings for an https upstream, nil for http.
    let tlsSettings: TLSClientSettings?
    /// The context new connections use (rebuilt on reload), or why it could not be built. A new
    /// context drops the sessions made under the old one.
    var tlsContext: Result<TLSContext, TLSError>? {
        didSet {
            if case .success(let new) = tlsContext, case .success(let old) = oldValue, new === old { return }
            tlsSessions.forget()
        }
    }
    /// Sessions new connections resume (TLS 1.3 tickets arrive after the handshake, through
    /// `onTLSSession`), and the handshake counts for `/metrics`.
    var tlsSessions = UpstreamTLSSessions()
    unowned(unsafe) let worker: Worker
    private var idle: [UpstreamConnection] = []
    /// Idle connections kept; set on every configuration compile (`setIdleCap`).
    private(set) var maxIdle: Int
    /// Connections open or opening (busy and idle); at most `maxConnections` unless 0.
    private(set) var openConnections = 0
    let maxConnections: Int
    /// Clients waiting for a connection while the pool is at `maxConnections`, oldest first
    /// (Envoy's pending-request queue; nginx's `max_conns` would fail them over instead).
    private var waiters: [any UpstreamWaiter] = []

    init(slot: Int, host: String, port: UInt16, tls: TLSClientSettings?, worker: Worker, maxIdle: Int, maxConnections: Int = 0) {
        self.slot = slot
        self.host = host
        self.port = port
        tlsSettings = tls
        self.worker = worker
        self.maxConnections = maxConnections
        self.maxIdle = Self.idleCap(maxIdle, maxConnections: maxConnections)
        idle.reserveCapacity(self.maxIdle)
    }

    private static func idleCap(_ maxIdle: Int, maxConnections: Int) -> Int {
        maxConnections > 0 ? min(maxIdle, maxConnections) : maxIdle
    }

    /// A reload's `upstream_idle_connections`: idle connections beyond the new cap are closed at
    /// once (the least recently used first, as they would have aged out), and every later
    /// return obeys it. Connections busy at the reload are judged when they come back.
    func setIdleCap(_ maxIdle: Int) {
        let cap = Self.idleCap(maxIdle, maxConnections: maxConnections)
        guard cap != self.maxIdle else { return }
        self.maxIdle = cap
        let excess = idle.count - cap
        if excess > 0 {
            for c in idle[0..<excess] { c.close() }
            idle.removeFirst(excess)
        }
    }

    /// No idle connection and no room for another: a request must wait.
    var isAtLimit: Bool { maxConnections > 0 && openConnections >= maxConnections }

    func enqueue(_ waiter: some UpstreamWaiter) {
        waiters.append(waiter)
    }

    func dequeue(_ waiter: some UpstreamWaiter) {
        if let i = waiters.firstIndex(where: { $0 === waiter }) { waiters.remove(at: i) }
    }

    /// An idle connection that is still open, or nil (the caller then opens a new one).
    func takeIdle() -> UpstreamConnection? {
        while let c = idle.popLast() {
            if !c.isClosing { return c }
        }
        return nil
    }

    func makeConnection() -> UpstreamConnection {
        openConnections += 1
        return UpstreamConnection(pool: self)
    }

    /// Returns a connection after a complete exchange: to the oldest waiting client, else to the
    /// idle list; closes it when that is full. With a cap of 0 there is no keep-alive at all:
    /// waiting clients get a fresh connection once this one has closed (`connectionClosed`).
    func release(_ c: UpstreamConnection) {
        if !c.isClosing && maxIdle > 0 {
            while !waiters.isEmpty {
                let next = waiters.removeFirst()
                if next.upstreamGranted(c) { return }
            }
        }
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

    /// A connection's handles are closed: its place goes to the oldest waiting client.
    func connectionClosed(_ c: UpstreamConnection) {
        openConnections -= 1
        remove(c)
        while !waiters.isEmpty && !isAtLimit {
            let next = waiters.removeFirst()
            if next.upstreamSlotFreed() { return }
        }
    }

    /// This pool's handshake counts for `/metrics` (nil for http), labelled `host:port`.
    var tlsHandshakeCount: MetricsSnapshot.TLSHandshakeCount? {
        guard tlsSettings != nil else { return nil }
        let h = host.contains(":") ? "[\(host)]" : host
        return .init(upstream: "\(h):\(port)", full: tlsSessions.fullHandshakes, resumed: tlsSessions.resumedHandshakes)
    }

    func closeAll() {
        for c in idle { c.close() }
        idle.removeAll()
    }
}

@available(*, unavailable)
extension UpstreamPool: Sendable {}
