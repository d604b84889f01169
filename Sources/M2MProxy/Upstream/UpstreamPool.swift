/// Keep-alive connections to one upstream endpoint (one address of one of a route's URLs, with
/// its TLS settings and sessions), per loop; an `UpstreamCluster` holds a route's endpoints. Idle
/// connections are reused most-recently-used first, so a burst's extra connections age out and
/// the upstream sees as few connections as the load needs. `maxIdle` stay idle once the load is
/// gone (`limits.upstream_idle_connections`, like nginx's upstream `keepalive N`, but applied
/// after the requests that need a connection are served: `IdleCapPolicy`); 0 closes every
/// connection after its exchange. A connection that finishes while a request of this pool is
/// still opening a new one is handed to that request (`HandoffQueue`); the new one connects on
/// as a spare for the next request.
final class UpstreamPool {
    /// The URL's host (TLS server name, and the name looked up when `address` is nil) and port.
    let host: String
    let port: UInt16
    /// The endpoint's address; nil until the cluster's first DNS answer for `host` arrived (the
    /// connection then resolves the name itself, through the loop's resolver).
    let address: SocketAddress?
    /// `ip:port` (`[v6]:port`), or `host:port` while `address` is nil: the endpoint's name in
    /// `/upstreams`, metrics and the access log.
    let label: String
    /// `label` as a JSON string literal, for the access log's `upstream` field.
    let logLiteral: StaticBytes
    /// ` HTTP/1.1\r\nHost: <the URL's authority>\r\n`; its Host line is sent unless `preserve_host`.
    let requestLineEndAndHost: StaticBytes
    unowned(unsafe) let cluster: UpstreamCluster
    /// Passive health (`max_fails`, `fail_timeout_ms`).
    var health = EndpointHealth()
    /// Requests sent to this endpoint and connection-level failures, for `/upstreams`.
    var requests: UInt64 = 0
    var failures: UInt64 = 0
    /// The address left DNS: no new request picks it, idle connections are closed and busy
    /// ones close after their exchange.
    private(set) var retired = false
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
    let io: LoopIO
    unowned(unsafe) let env: any UpstreamEnvironment
    private let idle: IdleConnections
    /// Idle connections kept; set on every configuration compile (`setIdleCap`).
    private(set) var maxIdle: Int
    /// Connections open or opening (busy and idle); at most `maxConnections` unless 0.
    private(set) var openConnections = 0
    let maxConnections: Int
    /// Clients waiting for a connection while the pool is at `maxConnections`, oldest first
    /// (Envoy's pending-request queue; nginx's `max_conns` would fail them over instead).
    private var waiters: [any UpstreamWaiter] = []
    /// Requests opening a new connection, as their connections (the hand-off).
    private var connecting = HandoffQueue<UpstreamConnection>()
    private var capPolicy = IdleCapPolicy()
    /// Finishing connections handed to a request that was opening one, and connections that
    /// finished connecting after their request got another (spares), for `/upstreams`.
    private(set) var handoffs: UInt64 = 0
    private(set) var spares: UInt64 = 0

    /// The endpoint speaks HTTP/2 (`h2c://`, or https with `http2 = true` until ALPN says
    /// otherwise): requests become streams of `http2Connection`.
    private(set) var speaksHTTP2: Bool
    /// The endpoint's HTTP/2 connection, opened by the first request that needs it; forgotten
    /// when it fails or receives GOAWAY (its streams finish on it, new ones open another).
    private var http2Connection: H2UpstreamSession?

    init(cluster: UpstreamCluster, member: UpstreamMember, address: SocketAddress?, tls: TLSClientSettings?, io: LoopIO, env: any UpstreamEnvironment, maxIdle: Int, maxConnections: Int = 0, http2: Bool = false) {
        self.cluster = cluster
        speaksHTTP2 = http2
        host = member.host
        port = member.port
        self.address = address
        label = address.map { UpstreamMember.label(ip: $0.ipString, port: member.port) } ?? member.label
        logLiteral = StaticBytes(Array(("\"" + label + "\"").utf8))
        requestLineEndAndHost = member.requestLineEndAndHost
        tlsSettings = tls
        self.io = io
        self.env = env
        self.maxConnections = maxConnections
        self.maxIdle = Self.idleCap(maxIdle, maxConnections: maxConnections)
        idle = IdleConnections(capacity: self.maxIdle)
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
        if excess > 0 { closeLeastRecentlyUsed(excess) }
    }

    private func closeLeastRecentlyUsed(_ n: Int) {
        idle.closeOldest(n)
        capPolicy.noteIdle(idle.count)
    }

    /// The trim tick (`IdleCapPolicy`): idle connections beyond the cap that no request took
    /// since the last tick close.
    func trimIdle() {
        let n = capPolicy.trim(idleCount: idle.count, maxIdle: maxIdle)
        if n > 0 { closeLeastRecentlyUsed(n) }
    }

    /// Requests on this endpoint now: busy or opening connections plus waiting clients
    /// (`least_request` compares it).
    var inFlight: Int { openConnections - idle.count + waiters.count }
    var idleCount: Int { idle.count }

    /// A connection-level failure (refused, reset before a response, connect timeout, TLS):
    /// counted, and at `max_fails` in a row the endpoint is ejected.
    func noteFailure() {
        failures &+= 1
        let limits = env.limits
        if let ms = health.recordFailure(now: io.now, maxFails: limits.maxFails, failTimeoutMs: limits.failTimeoutMs) {
            cluster.ejected(self, forMs: ms)
        }
    }

    /// A response started: the failure streak (and any ejection) ends.
    @inline(__always)
    func noteResponse() {
        if health.consecutiveFailures != 0 || health.ejectionStreak != 0 { health.recordSuccess() }
    }

    /// The address left DNS (see `retired`).
    func retire() {
        retired = true
        closeAll()
    }

    /// No idle connection and no room for another: a request must wait.
    var isAtLimit: Bool { maxConnections > 0 && openConnections >= maxConnections }

    func enqueue(_ waiter: some UpstreamWaiter) {
        waiters.append(waiter)
    }

    func dequeue(_ waiter: some UpstreamWaiter) {
        if let i = waiters.firstIndex(where: { $0 === waiter }) { waiters.remove(at: i) }
    }

    /// An idle connection that is still open, or nil (the caller then opens a new one). The
    /// idle list's reference is handed over as it is (retained once, for the caller to adopt:
    /// `OwnedRef.adopt`); returned as a strong reference, it cost the caller a retain/release
    /// pair per request (callgrind).
    func takeIdle() -> Unmanaged<UpstreamConnection>? {
        while let c = idle.takeLast() {
            if !c._withUnsafeGuaranteedRef({ $0.isClosing }) {
                capPolicy.noteIdle(idle.count)
                return c
            }
            c.release()
        }
        return nil
    }

    /// `forRequest`: a request found no idle connection and waits for this one to connect (a
    /// finishing connection may be handed to it meanwhile, and the pool counts as short of
    /// connections). Retries on a fresh connection pass false: they must not get a reused one.
    func makeConnection(forRequest: Bool = false) -> UpstreamConnection {
        openConnections += 1
        let c = UpstreamConnection(pool: self)
        if forRequest {
            capPolicy.noteShort()
            connecting.append(c)
        }
        return c
    }

    /// Returns a connection after a complete exchange (only a reusable one comes here): to the
    /// oldest client waiting at `max_upstream_connections`, else to the oldest request still
    /// opening a new connection, else to the idle list; closes it when `IdleCapPolicy` says the
    /// cap is reached. With a cap of 0 there is no keep-alive at all: waiting clients get a
    /// fresh connection once this one has closed (`connectionClosed`).
    ///
    /// `consuming`: a caller handing over its own reference (`ClientConnection.responseComplete`)
    /// moves it into the idle list without a retain.
    func release(_ c: consuming UpstreamConnection) {
        if retired {
            c.close()
            return
        }
        if !c.isClosing && maxIdle > 0 {
            while !waiters.isEmpty {
                let next = waiters.removeFirst()
                if next.upstreamGranted(c) { return }
            }
            while !connecting.isEmpty, let pending = connecting.popWaiting() {
                if pending.handOver(c) {
                    handoffs &+= 1
                    return
                }
            }
        }
        if !c.isClosing && capPolicy.keeps(idleCount: idle.count, maxIdle: maxIdle) {
            c.becomeIdle()
            idle.append(c)
        } else {
            c.close()
        }
    }

    /// A connection whose request took another one meanwhile finished connecting: it serves
    /// the next request like a returned one.
    func spareConnected(_ c: UpstreamConnection) {
        spares &+= 1
        release(c)
    }

    /// An idle connection closed by the upstream (EOF while idle) leaves the pool.
    func remove(_ c: UpstreamConnection) {
        let before = idle.count
        idle.remove(c)
        if idle.count != before { capPolicy.noteIdle(idle.count) }
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

    /// This pool's handshake counts for `/metrics` (nil for http), labelled with the URL's
    /// `host:port` (summed over its endpoints).
    var tlsHandshakeCount: UpstreamHandshakeCount? {
        guard tlsSettings != nil else { return nil }
        let h = host.contains(":") ? "[\(host)]" : host
        return .init(upstream: "\(h):\(port)", full: tlsSessions.fullHandshakes, resumed: tlsSessions.resumedHandshakes)
    }

    func closeAll() {
        idle.closeOldest(idle.count)
        capPolicy.noteIdle(0)
        // The HTTP/2 connection closes like a busy one: once its streams are done.
        if let s = http2Connection {
            http2Connection = nil
            s.finish()
        }
    }

    // MARK: HTTP/2 (DESIGN.md §7)

    /// The session new streams go to, opened now if there is none.
    func http2Session(budgetMs: Int) -> H2UpstreamSession {
        if let s = http2Connection, s.acceptsStreams { return s }
        let s = H2UpstreamSession(pool: self)!
        http2Connection = s
        s.open(budgetMs: budgetMs)
        return s
    }

    /// `s` failed, closed or received GOAWAY: the next stream opens a new connection.
    func http2SessionGone(_ s: H2UpstreamSession) {
        if http2Connection === s { http2Connection = nil }
    }

    /// The server chose HTTP/1.1 in ALPN: this endpoint is an HTTP/1.1 one from now on.
    func http2FellBack(_ s: H2UpstreamSession) {
        http2SessionGone(s)
        speaksHTTP2 = false
        env.log.info("upstream \(label) did not agree to HTTP/2 in ALPN: using HTTP/1.1")
    }
}

@available(*, unavailable)
extension UpstreamPool: Sendable {}
