internal import CLibUV
private import Glibc

/// One event loop and everything confined to it: listeners, the read buffer, buffer pools, the
/// routes and upstream pools (`RouteTable`), the access-log buffer, the metrics counters, and
/// this loop's side of the shared token cache (`TokenClient`). Worker itself keeps the loop's
/// resources, connection accounting and drain. One per `server.workers` thread; worker 0 runs
/// on the main loop beside the control role (`ControlLoop`). Reached from callbacks through
/// `handle->data` owners, never through globals.
final class Worker: ListenerOwner {
    /// Backpressure marks of every stream on the loop (`LoopIO`).
    static let highWater = LoopIO.highWater
    static let lowWater = LoopIO.lowWater

    let loop: UnsafeMutablePointer<uv_loop_t>
    /// 0 for the worker on the main (control) loop, then 1, 2, ...
    let id: Int
    /// The loop's shared stream resources (read buffer, buffer pool, TLS state, resolver);
    /// `readBuffer`, `pool`, `tls` and `resolver` below are the same objects, kept here too.
    let io: LoopIO
    var readBufferSize: Int { LoopIO.readBufferSize }
    let readBuffer: UnsafeMutableRawPointer
    private(set) var limits: LimitsConfig
    private(set) var config: ProxyConfig
    let log: Log
    /// Head buffers hold a whole head plus one read beyond it (pipelined bytes or body).
    let headBufferCapacity: Int
    let pool: BufferPool
    let statics: StaticLines
    /// `statics` borrowed (see `poolRef`).
    let staticsRef: Unmanaged<StaticLines>
    /// Every `poolTrimIntervalMs` the pool releases the buffers no request took meanwhile: after
    /// a burst the memory goes back to the kernel within a few seconds, while steady traffic
    /// keeps reusing its buffers (no allocation per request).
    static let poolTrimIntervalMs: UInt64 = 2000
    private let poolTrimTimer: RepeatingTimer
    /// The same period closes idle upstream connections beyond the cap that no request took
    /// (`IdleCapPolicy`).
    private var upstreamTrimTimer: RepeatingTimer?
    let resolver: Resolver
    /// TLS buffers, contexts and the drain handle of this loop (`CBridge/TLSLoopState.swift`).
    let tls: TLSLoopState
    /// Routes and upstream pools of the current configuration (and the routers of earlier ones).
    private(set) var routes = RouteTable()
    /// This loop's reader of the shared token cache.
    let tokens: TokenClient
    /// `pool` and `tokens` borrowed for the data path: a class reference read through `worker`
    /// cost a retain/release pair at each use under callgrind (the optimizer does not see that
    /// the worker keeps it alive). Use with `_withUnsafeGuaranteedRef`.
    let poolRef: Unmanaged<BufferPool>
    let tokensRef: Unmanaged<TokenClient>
    /// The current router, borrowed (see `RouteTable.routerRef`).
    @inline(__always) var routerRef: Unmanaged<Router>? { routes.routerRef }
    var upstreamClusters: [UpstreamCluster] { routes.clusters }
    /// The control loop's latest DNS answer per upstream host name (clusters built later by a
    /// reload start from it).
    var knownAddresses: [String: [String]] = [:]
    /// Where a worker tells the control loop about ejections (`Worker+Endpoints.swift`).
    let control: Mailbox<ControlMessage>
    /// Any allow_cidrs configured: only then is the client address checked per request.
    @inline(__always) var hasAccessControl: Bool { routes.hasAccessControl }
    private var listeners: [Listener] = []
    /// The admin port (worker 0, when `server.admin_listen` is on).
    private(set) var adminEndpoint: AdminEndpoint?
    private var failureLogs = FailureLogLimiter()
    /// True once every `server.listen` address is bound (`/readyz`).
    private(set) var listenersUp = false
    /// Counters of the logging phase (DESIGN.md §6), copied out at scrape time.
    private(set) var metrics: RequestCounters
    /// `metrics` borrowed (no retain/release per request): the worker keeps it, and replaces it
    /// only on a reload, between requests' logging.
    private(set) var metricsRef: Unmanaged<RequestCounters>
    /// nil when `server.access_log = false`.
    private(set) var accessLog: AccessLog?
    let requestIDs = RequestIDGenerator()
    /// Open client connections, for draining (swap-removed via `ClientConnection.clientIndex`).
    private var clients: [ClientConnection] = []
    private(set) var openConnections = 0
    private(set) var activeRequests = 0
    private var draining = false
    private var drainDeadline: UInt64 = 0
    private var drainTimer: RepeatingTimer?
    private var stopped = false
    /// Runs once when this loop has drained (or its drain deadline passed): a worker thread
    /// stops its loop; worker 0 tells the control role.
    var onStopped: () -> Void = {}

    /// `tokenSlots`: the token slot of each route (nil: no credential), as the control loop's
    /// `TokenCache.assignSlots` gave them; `board`: where every slot's token is published.
    init(
        loop: UnsafeMutablePointer<uv_loop_t>, id: Int = 0, config: ProxyConfig, log: Log,
        control: Mailbox<ControlMessage>, board: [TokenBoardSlot], tokenSlots: [Int?]
    ) {
        self.loop = loop
        self.id = id
        self.config = config
        self.limits = config.limits
        self.log = log
        self.control = control
        let capacity = config.limits.maxHeaderBytes + 2 * LoopIO.readBufferSize + 1024
        headBufferCapacity = capacity
        io = LoopIO(loop: loop, headBufferCapacity: capacity)
        readBuffer = io.readBuffer
        pool = io.pool
        let statics = StaticLines()
        self.statics = statics
        staticsRef = .passUnretained(statics)
        poolRef = .passUnretained(pool)
        // The timer holds the pool, not the worker; it does not keep a draining loop alive.
        poolTrimTimer = RepeatingTimer(loop: loop, everyMs: Self.poolTrimIntervalMs, unref: true) { [pool] in
            _ = pool.trim()
        }
        resolver = io.resolver
        metrics = RequestCounters(routeNames: config.routes.map(\.name))
        metricsRef = .passUnretained(metrics)
        tokens = TokenClient(workerID: id, control: control, board: board)
        tokensRef = .passUnretained(tokens)
        tls = io.tls
        loop.pointee.data = Unmanaged.passUnretained(self).toOpaque()

        routes.install(config, tokenSlots: tokenSlots, worker: self)
        configureAccessLog(config)
        upstreamTrimTimer = RepeatingTimer(loop: loop, everyMs: Self.poolTrimIntervalMs, unref: true) { [weak self] in
            self?.upstreamClusters.forEach { $0.trimIdle() }
        }
    }

    /// Worker 0 is built before the token cache that assigns its routes' token slots.
    func installTokenSlots(_ tokenSlots: [Int?], board: [TokenBoardSlot]) {
        tokens.setBoard(board)
        routes.install(config, tokenSlots: tokenSlots, worker: self)
    }

    private func configureAccessLog(_ config: ProxyConfig) {
        guard config.server.accessLog else {
            accessLog?.flush()
            accessLog?.stopTimer()
            accessLog = nil
            return
        }
        let names = config.routes.map(\.name)
        let upstreams = config.routes.map { r in
            r.upstream.host.contains(":") ? "[\(r.upstream.host)]:\(r.upstream.port)" : "\(r.upstream.host):\(r.upstream.port)"
        }
        if let accessLog {
            accessLog.setRoutes(routeNames: names, upstreams: upstreams)
        } else {
            accessLog = AccessLog(routeNames: names, upstreams: upstreams)
            accessLog!.startTimer(loop: loop)
        }
    }

    /// SIGHUP (DESIGN.md §2): the new configuration, already validated, takes effect for new
    /// requests; requests in flight finish on the routes they matched. Tokens of unchanged keys
    /// are kept (a changed secret is a different key: never an old token). The returned notes
    /// name what only a restart changes (`ProxyConfig.applyingReload`).
    func reload(_ new: ProxyConfig, tokenSlots: [Int?], board: [TokenBoardSlot]) -> [String] {
        let (effective, notes) = config.applyingReload(new)
        config = effective
        limits = effective.limits
        tokens.setBoard(board)
        tls.forgetContexts()
        routes.install(effective, tokenSlots: tokenSlots, worker: self)
        metrics = RequestCounters(routeNames: effective.routes.map(\.name))
        metricsRef = .passUnretained(metrics)
        configureAccessLog(effective)
        return notes
    }

    /// The upstream cluster of a slot, borrowed (see `RouteTable.clusterRefs`).
    @inline(__always)
    func upstreamCluster(_ slot: Int) -> Unmanaged<UpstreamCluster> { routes.clusterRefs[slot] }

    /// Logs a failed request, rate-limited (`FailureLogLimiter`).
    func logFailure(_ message: @autoclosure () -> String) {
        failureLogs.log(message(), nowMs: now, to: log)
    }

    /// Monotonic nanoseconds (`uv_hrtime`), for request and upstream durations.
    var hrNow: UInt64 { uv_hrtime() }

    /// Whether requests are written to the access log: only then are the upstream and token
    /// wait phases timed (two clock reads per request fewer otherwise).
    var logsAccess: Bool { accessLog != nil }

    /// Binds every `server.listen` address (SO_REUSEPORT: each worker binds its own socket on
    /// the same addresses and the kernel spreads connections). Throws a one-line reason.
    func listen() throws(StartupError) {
        for address in config.server.listen {
            let l = Listener(loop: loop, owner: self)
            do {
                try l.bind(address)
            } catch {
                l.close()
                throw StartupError("cannot listen on \(address): \(error.message)")
            }
            listeners.append(l)
            if id == 0 { log.info("listening on \(address)") }
        }
        if let settings = config.server.tls, !config.server.tlsListen.isEmpty {
            let context: TLSContext
            switch TLSContext.server(settings) {
            case .success(let c): context = c
            case .failure(let e): throw StartupError("cannot set up the TLS listener: \(e.message)")
            }
            for address in config.server.tlsListen {
                let l = Listener(loop: loop, owner: self)
                l.tls = context
                do {
                    try l.bind(address)
                } catch {
                    l.close()
                    throw StartupError("cannot listen on \(address): \(error.message)")
                }
                listeners.append(l)
                log.info("listening on \(address) (TLS)")
            }
        }
        listenersUp = true
    }

    /// Binds `server.admin_listen` (worker 0 only: the admin endpoints are the control role's).
    func listenAdmin(handler: AdminHandler) throws(StartupError) {
        guard let address = config.server.adminListen else { return }
        let endpoint = AdminEndpoint(worker: self, handler: handler)
        try endpoint.listen(address)
        adminEndpoint = endpoint
        log.info("admin endpoints on \(address)")
    }

    /// A client connection on a proxy listener.
    func connectionArrived(on listener: Listener) {
        let c = ClientConnection(worker: self)
        // Counted before accept: a failed accept still closes `c`, which uncounts it.
        openConnections += 1
        guard listener.accept(into: c) else {
            c.close()
            return
        }
        if let context = listener.tls, !c.enableServerTLS(context) {
            c.close()
            return
        }
        if draining {
            c.close()
            return
        }
        if openConnections > limits.maxConnections {
            // Over max_connections: a graceful refusal the client can understand and retry,
            // instead of a silent close or an ever-growing accept backlog.
            c.refuseOverloaded()
            return
        }
        clients.append(c)
        c.clientIndex = clients.count - 1
        c.start()
    }

    /// The inner end of an HTTP/2 stream's pair (`H2StreamBridge`): an ordinary client
    /// connection that speaks for `parent`'s peer. nil when it could not be opened.
    func connectionForStream(fd: Int32, of parent: ClientConnection) -> ClientConnection? {
        let c = ClientConnection(worker: self)
        openConnections += 1
        guard c.adopt(fd: fd) else {
            c.close()
            return nil
        }
        clients.append(c)
        c.clientIndex = clients.count - 1
        c.start(streamOf: parent)
        return c
    }

    func connectionClosed(_ c: ClientConnection) {
        openConnections -= 1
        let i = c.clientIndex
        if i >= 0 && i < clients.count && clients[i] === c {
            // Swap-remove: O(1), order does not matter.
            let last = clients.removeLast()
            if i < clients.count {
                clients[i] = last
                last.clientIndex = i
            }
        }
        c.clientIndex = -1
        checkDrained()
    }

    func requestStarted() { activeRequests += 1 }

    /// Inlined with the drain test first: a call to `checkDrained` per request cost ~14
    /// instructions for a flag that is false until shutdown (callgrind).
    @inline(__always)
    func requestEnded() {
        activeRequests -= 1
        if draining { checkDrained() }
    }

    // MARK: shutdown

    /// Stops accepting; `onStopped` runs once in-flight requests finished or the deadline passed.
    func beginDrain(timeoutMs: Int) {
        guard !draining else { return }
        draining = true
        drainDeadline = uv_now(loop) + UInt64(timeoutMs)
        for l in listeners { l.close() }
        listeners.removeAll()
        if activeRequests > 0 { log.info("draining\(workerLabel): \(activeRequests) request(s) in flight") }
        // Idle keep-alive connections close now; busy ones close after their response.
        for c in clients { c.drain() }
        for c in upstreamClusters { c.closeAll() }
        drainTimer = RepeatingTimer(loop: loop, everyMs: 50) { [unowned self] in
            if drainExpired {
                log.warning("drain timeout\(workerLabel): cutting \(activeRequests) request(s)")
                stop()
            }
        }
        checkDrained()
    }

    var isDraining: Bool { draining }
    var drainExpired: Bool { draining && uv_now(loop) >= drainDeadline }

    /// " (worker N)" in logs of loops other than the main one.
    private var workerLabel: String { id == 0 ? "" : " (worker \(id))" }

    /// Done when no request is in flight and every client connection has flushed and closed.
    private func checkDrained() {
        guard draining, activeRequests == 0, openConnections == 0 else { return }
        stop()
    }

    private func stop() {
        guard !stopped else { return }
        stopped = true
        drainTimer?.stop()
        drainTimer = nil
        onStopped()
    }

    /// This worker's counters, copied for a scrape.
    func metricsPart() -> WorkerMetrics {
        WorkerMetrics(worker: id, requests: metrics.snapshot, tokenWaits: tokens.waits, openConnections: openConnections, activeRequests: activeRequests,
                      bufferPoolBytes: pool.freeBytes,
                      tlsHandshakes: upstreamClusters.flatMap(\.tlsHandshakeCounts),
                      endpoints: endpointStats())
    }

    /// A message from the control loop (on this loop's thread).
    func handle(_ message: WorkerMessage, control: Mailbox<ControlMessage>) {
        switch message {
        case .token(let slot, let failure):
            tokens.wake(slot: slot, failure: failure)
        case .reload(let config, let tokenSlots, let board, let generation):
            _ = reload(config, tokenSlots: tokenSlots, board: board)
            control.post(.reloaded(generation: generation, worker: id))
        case .drain(let timeoutMs):
            beginDrain(timeoutMs: timeoutMs)
        case .scrapeMetrics(let scrape):
            control.post(.metrics(scrape: scrape, worker: id, metricsPart()))
        case .endpoints(let host, let ips):
            setEndpointAddresses(host: host, ips: ips)
        case .ejectEndpoint(let label, let ms):
            applyEjection(label: label, forMs: ms)
        }
    }

    var now: UInt64 { uv_now(loop) }
}

struct StartupError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

@available(*, unavailable)
extension Worker: Sendable {}
