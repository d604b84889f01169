/// One keep-alive TCP connection to an upstream. While a request is bound to it, response bytes
/// go straight to that request's `UpstreamClient` (Proxy's client connection); while
/// idle in its pool it only watches for the upstream closing it.
final class UpstreamConnection: UVStream, HandoffCandidate, UpstreamDialer {
    enum State {
        case resolving
        case connecting
        case active
        case idle
    }

    /// Pools outlive their connections (`UpstreamCluster` keeps retired ones until empty).
    unowned(unsafe) let pool: UpstreamPool
    /// `pool`, borrowed on the data path with `_withUnsafeGuaranteedRef`: each use of the
    /// `unowned(unsafe)` field cost a retain/release pair (callgrind: two per request, the
    /// first response read and the return to the pool).
    let poolRef: Unmanaged<UpstreamPool>
    var state: State = .resolving
    /// The client whose request is on this connection (owned while active); response bytes
    /// reach it borrowed, without a retain/release pair per read.
    private var clientOwner = OwnedRef<UpstreamClient>()
    var client: UpstreamClient? {
        get { clientOwner.object }
        set { clientOwner.object = newValue }
    }
    /// Its header table is the head buffer's (lent for an exchange).
    let parser = HTTPParser(kind: .response, maxHeaders: 0)
    /// Response heads are parsed in place here, so header spans stay valid until written.
    /// Taken from the loop's pool for an exchange and given back when idle: an idle pooled
    /// connection holds no buffer and no header table.
    private var buffer: UnsafeMutableRawPointer?
    var headBuffer: UnsafeMutableRawPointer { buffer! }
    /// A response head must fit in 64 KiB (nginx's default is 4–8 KiB); the rest of the buffer
    /// takes the read that completes it.
    let headCapacity: Int
    var headCount = 0
    /// Requests completed on this connection: >0 means it was reused, which makes a failure
    /// before any response byte retryable (the upstream may have closed it while idle).
    private(set) var exchanges = 0
    var receivedResponseBytes = false
    /// A stream of an HTTP/2 upstream (`H2UpstreamStream`) the upstream refused: REFUSED_STREAM,
    /// or above a GOAWAY's last stream id. The request was not processed (RFC 9113 §8.7).
    var streamRefused = false
    /// Why the last `fail` happened (read by the client for metrics and the access log).
    private(set) var failureKind: UpstreamErrorKind = .connectFailed
    /// The route's connect timeout, taken when the connection is opened.
    private var connectTimeoutMs = 0

    init(pool: UpstreamPool) {
        self.pool = pool
        poolRef = .passUnretained(pool)
        let io = pool.io
        headCapacity = min(64 * 1024, io.pool.headBufferCapacity - io.readBufferSize) + io.readBufferSize
        super.init(io: io)
        // A body that came with its head is parsed in the same call (`ClientConnection+Response`).
        parser.parsesBodyWithHead = true
    }

    deinit {
        if let buffer { io.pool.give(headBuffer: buffer) }
    }

    var isReused: Bool { exchanges > 0 }

    /// Connected and nothing of an exchange written or received yet: can go back to the pool.
    var isReusableUnused: Bool { state == .active && !isClosing && !receivedResponseBytes && headCount == 0 }

    /// Resolving or connecting for a request (nothing of it written yet): a connection that
    /// finishes an exchange meanwhile may take its place (`handOver`).
    var awaitsHandoff: Bool { (state == .resolving || state == .connecting) && !isClosing && clientOwner.object != nil }

    /// Gives this connection's request `c` (connected, reusable, of the same pool) instead of
    /// waiting for this connect. This one connects on without a request (a spare: its connect
    /// timeout still runs, a failure still counts against the endpoint and reaches no client)
    /// and then serves the pool like a returned connection. False when the request no longer
    /// waits for this connection.
    func handOver(_ c: UpstreamConnection) -> Bool {
        guard awaitsHandoff, let owner = client else { return false }
        client = nil
        if owner.upstreamReplaced(self, by: c) { return true }
        client = owner
        return false
    }

    /// `budgetMs`: what is left of the request's connect timeout (the route's own value or
    /// `[limits]`; failover attempts share it).
    func open(for client: UpstreamClient, budgetMs: Int) {
        self.client = client
        state = .resolving
        self.connectTimeoutMs = budgetMs
        startTimer(ms: budgetMs)
        if pool.speaksHTTP2 {
            // A stream of the endpoint's one HTTP/2 connection (`H2UpstreamSession`).
            pool.http2Session(budgetMs: budgetMs).attach(self)
            return
        }
        resolveAndConnect()
    }

    var isResolving: Bool { state == .resolving }

    func markConnecting() { state = .connecting }

    /// A reused connection taken from the pool for `client`.
    func attach(_ client: UpstreamClient) {
        self.client = client
        state = .active
        stopTimer()
        beginExchange()
    }

    func becomeIdle() {
        client = nil
        if let b = buffer {
            buffer = nil
            parser.returnHeaders()
            io.poolRef._withUnsafeGuaranteedRef { $0.give(headBuffer: b) }
        }
        state = .idle
        exchanges += 1
        stopTimer()
        // Keep reading while idle: an EOF here means the upstream closed it; drop it then.
        startReading()
    }

    func beginExchange() {
        if buffer == nil {
            // Borrowed (`LoopIO.poolRef`): `io.pool` cost a retain/release pair per exchange.
            let b = io.poolRef._withUnsafeGuaranteedRef { pool in
                let b = pool.takeHeadBuffer()
                parser.lendHeaders(pool.headerSpans(in: b), capacity: BufferPool.headerSlots)
                return b
            }
            buffer = b
        }
        headCount = 0
        receivedResponseBytes = false
        parser.reset()
        parser.skipBody = false
        parser.recordBody = false
        startReading()
    }

    override func onTLSSession(_ session: TLSResumption) {
        pool.tlsSessions.store(session)
    }

    override func onConnect(_ error: UVError?) {
        guard state == .connecting, !isClosing, connectSucceeded(error) else { return }
        setNoDelay()
        state = .active
        stopTimer()
        guard client != nil else {
            // A spare (`handOver`): the next request of the pool takes it.
            pool.spareConnected(self)
            return
        }
        beginExchange()
        client?.upstreamReady(self)
    }

    override func onTimer() {
        switch state {
        case .resolving, .connecting:
            fail("upstream connect timed out after \(connectTimeoutMs) ms", kind: .connectTimeout)
        case .active:
            client?.upstreamTimedOut(self)
        case .idle:
            break
        }
    }

    override func onRead(_ data: UnsafeRawBufferPointer) {
        switch state {
        case .active:
            if !receivedResponseBytes {
                receivedResponseBytes = true
                // The endpoint answers: its failure streak and any ejection end.
                poolRef._withUnsafeGuaranteedRef { $0.noteResponse() }
            }
            clientOwner.unmanaged?._withUnsafeGuaranteedRef { $0.upstreamData(self, data) }
        case .idle:
            // An idle upstream must not send anything; its framing is lost: drop it.
            pool.remove(self)
            close()
        default:
            break
        }
    }

    override func onReadEnd(_ error: UVError) {
        switch state {
        case .active:
            client?.upstreamEnded(self, error)
        case .idle:
            pool.remove(self)
            close()
        default:
            fail("upstream closed the connection", kind: .connectFailed)
        }
    }

    override func onWriteDone(_ error: UVError?) {
        if let error, error != .ecanceled, state == .active {
            client?.upstreamWriteFailed(self, error)
            return
        }
        clientOwner.unmanaged?._withUnsafeGuaranteedRef { $0.upstreamWriteDrained(self) }
    }

    /// Reports a failure before the exchange began as a value (kind and message); the client's
    /// side maps it to its answer (`ProxyError.init(upstream:message:)`).
    func fail(_ message: String, kind: UpstreamErrorKind) {
        failureKind = kind
        if kind != .resolveFailed { pool.noteFailure() }
        let c = client
        client = nil
        close()
        c?.upstreamFailed(self, message)
    }

    override func onClosed() {
        pool.connectionClosed(self)
    }

    /// Drops the connection without reuse (request abandoned, framing unknown).
    func abandon() {
        client = nil
        close()
    }
}
