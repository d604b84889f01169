internal import CLibUV
private import Glibc

/// One event loop and everything confined to it: listeners, the read buffer, pools, the router,
/// the upstream pools, the access-log buffer, the metrics counters, and this loop's side of the
/// shared token cache (`TokenClient`). One per `server.workers` thread; worker 0 runs on the
/// main loop beside the control role (`ControlLoop`). Reached from callbacks through
/// `handle->data` owners, never through globals.
final class Worker {
    /// Above this many queued bytes a writer's source stops reading; below `lowWater` it resumes.
    static let highWater = 256 * 1024
    static let lowWater = 64 * 1024

    let loop: UnsafeMutablePointer<uv_loop_t>
    /// 0 for the worker on the main (control) loop, then 1, 2, ...
    let id: Int
    let readBufferSize = 64 * 1024
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
    let resolver: Resolver
    /// TLS buffers, contexts and the drain handle of this loop (`CBridge/TLSLoopState.swift`).
    let tls: TLSLoopState
    private(set) var router: Router! {
        didSet { routerRef = .passUnretained(router) }
    }
    /// Routers replaced by reloads: requests in flight still point at their routes (unowned),
    /// so they stay alive. Reloads are rare and routes small.
    private var retiredRouters: [Router] = []
    /// Pools only grow: a slot stays valid for requests of any configuration generation.
    fileprivate(set) var upstreamPools: [UpstreamPool] = []
    fileprivate var poolIndex: [UpstreamPoolKey: Int] = [:]
    /// This loop's reader of the shared token cache.
    let tokens: TokenClient
    /// `pool`, `tokens`, `router` and the upstream pools borrowed for the data path: a class
    /// reference read through `worker` cost a retain/release pair at each use under callgrind
    /// (the optimizer does not see that the worker keeps it alive, which it does: pools only
    /// grow, replaced routers are retired, not freed). Use with `_withUnsafeGuaranteedRef`.
    let poolRef: Unmanaged<BufferPool>
    let tokensRef: Unmanaged<TokenClient>
    private(set) var routerRef: Unmanaged<Router>?
    private(set) var upstreamPoolRefs: ContiguousArray<Unmanaged<UpstreamPool>> = []
    private var listeners: [Listener] = []
    private var adminListener: Listener?
    /// Serves the admin endpoints (set when `server.admin_listen` is on).
    private(set) var admin: AdminHandler?
    /// True once every `server.listen` address is bound (`/readyz`).
    private(set) var listenersUp = false
    /// Counters of the logging phase (DESIGN.md §6), copied out at scrape time.
    var metrics: RequestMetrics
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
        readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
        headBufferCapacity = config.limits.maxHeaderBytes + 2 * readBufferSize + 1024
        pool = BufferPool(headBufferCapacity: headBufferCapacity)
        let statics = StaticLines()
        self.statics = statics
        staticsRef = .passUnretained(statics)
        poolRef = .passUnretained(pool)
        // The timer holds the pool, not the worker; it does not keep a draining loop alive.
        poolTrimTimer = RepeatingTimer(loop: loop, everyMs: Self.poolTrimIntervalMs, unref: true) { [pool] in
            _ = pool.trim()
        }
        resolver = Resolver(loop: loop)
        metrics = RequestMetrics(routeNames: config.routes.map(\.name))
        tokens = TokenClient(workerID: id, control: control, board: board)
        tokensRef = .passUnretained(tokens)
        tls = TLSLoopState(loop: loop)
        loop.pointee.data = Unmanaged.passUnretained(self).toOpaque()

        router = Router(routes: compileRoutes(config, tokenSlots: tokenSlots))
        routerRef = .passUnretained(router)
        hasAccessControl = Self.accessControl(config)
        configureAccessLog(config)
    }

    /// Routes sharing an upstream authority share a pool; routes sharing a token key share a
    /// token (DESIGN.md §5). Existing pools and token slots are reused across reloads.
    private func compileRoutes(_ config: ProxyConfig, tokenSlots: [Int?]) -> [CompiledRoute] {
        var compiled: [CompiledRoute] = []
        for (i, r) in config.routes.enumerated() {
            let slot = upstreamPoolSlot(r)
            compiled.append(CompiledRoute(index: i, config: r, upstreamSlot: slot, tokenSlot: tokenSlots[i]))
        }
        return compiled
    }

    /// Worker 0 is built before the token cache that assigns its routes' token slots.
    func installTokenSlots(_ tokenSlots: [Int?], board: [TokenBoardSlot]) {
        tokens.setBoard(board)
        router = Router(routes: compileRoutes(config, tokenSlots: tokenSlots))
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
    /// are kept (a changed secret is a different key: never an old token). What cannot change
    /// without a restart (listen addresses, workers, max_header_bytes, whose size the buffers in
    /// use have) is kept, and the returned notes say so.
    func reload(_ new: ProxyConfig, tokenSlots: [Int?], board: [TokenBoardSlot]) -> [String] {
        var notes: [String] = []
        var server = new.server
        var limits = new.limits
        if new.server.listen != config.server.listen {
            notes.append("server.listen changed: takes effect at the next restart")
        }
        if new.server.adminListen != config.server.adminListen {
            notes.append("server.admin_listen changed: takes effect at the next restart")
        }
        if new.server.workers != config.server.workers {
            notes.append("server.workers changed: takes effect at the next restart")
        }
        server = ServerConfig(
            listen: config.server.listen, workers: config.server.workers, adminListen: config.server.adminListen,
            drainTimeoutMs: new.server.drainTimeoutMs, accessLog: new.server.accessLog,
            allowCIDRs: new.server.allowCIDRs, trustedProxies: new.server.trustedProxies,
            tlsListen: config.server.tlsListen, tls: config.server.tls)
        if new.server.tlsListen != config.server.tlsListen || new.server.tls != config.server.tls {
            notes.append("server.tls_listen/tls_cert_file/tls_key_file changed: takes effect at the next restart")
        }
        if new.limits.maxHeaderBytes != config.limits.maxHeaderBytes {
            notes.append("limits.max_header_bytes changed: takes effect at the next restart")
            limits = LimitsConfig(
                maxHeaderBytes: config.limits.maxHeaderBytes, maxBodyBytes: new.limits.maxBodyBytes,
                headerTimeoutMs: new.limits.headerTimeoutMs, bodyTimeoutMs: new.limits.bodyTimeoutMs,
                idleTimeoutMs: new.limits.idleTimeoutMs, connectTimeoutMs: new.limits.connectTimeoutMs,
                responseTimeoutMs: new.limits.responseTimeoutMs, tokenWaitMs: new.limits.tokenWaitMs,
                replayBodyBytes: new.limits.replayBodyBytes, maxConnections: new.limits.maxConnections,
                maxRequestsPerConnection: new.limits.maxRequestsPerConnection,
                upstreamIdleConnections: new.limits.upstreamIdleConnections)
        }
        let effective = ProxyConfig(server: server, limits: limits, credentials: new.credentials, routes: new.routes, tokenStore: new.tokenStore)
        config = effective
        self.limits = limits
        tokens.setBoard(board)
        tls.forgetContexts()
        let routes = compileRoutes(effective, tokenSlots: tokenSlots)
        // Every pool, also one no route uses any more (requests in flight still return to it).
        for p in upstreamPools { p.setIdleCap(limits.upstreamIdleConnections) }
        retiredRouters.append(router)
        router = Router(routes: routes)
        hasAccessControl = Self.accessControl(effective)
        // Requests of earlier generations log and count under their route's new position, or
        // as "none" when the route is gone.
        var position: [String: Int] = [:]
        for r in routes { position[r.config.name] = r.index }
        for old in retiredRouters {
            for r in old.routes { r.index = position[r.config.name] ?? -1 }
        }
        metrics = RequestMetrics(routeNames: effective.routes.map(\.name))
        configureAccessLog(effective)
        return notes
    }

    /// The upstream pool of a slot, borrowed (see `poolRef`).
    @inline(__always)
    func upstreamPool(_ slot: Int) -> Unmanaged<UpstreamPool> { upstreamPoolRefs[slot] }

    /// Any allow_cidrs configured: only then is the client address checked per request.
    private(set) var hasAccessControl = false

    private static func accessControl(_ c: ProxyConfig) -> Bool {
        c.server.allowCIDRs != nil || c.routes.contains { $0.allowCIDRs != nil }
    }

    private var failureLogSecond: UInt64 = 0
    private var failureLogCount = 0
    private var failureLogSuppressed = 0
    static let failureLogsPerSecond = 20

    /// Logs a failed request, at most `failureLogsPerSecond` per second: a token-endpoint
    /// outage under load must not turn stderr into a flood (the access log has every request).
    func logFailure(_ message: @autoclosure () -> String) {
        let second = now / 1000
        if second != failureLogSecond {
            if failureLogSuppressed > 0 {
                log.info("\(failureLogSuppressed) more failed request(s) not logged in the last second")
            }
            failureLogSecond = second
            failureLogCount = 0
            failureLogSuppressed = 0
        }
        if failureLogCount < Self.failureLogsPerSecond {
            failureLogCount += 1
            log.info(message())
        } else {
            failureLogSuppressed += 1
        }
    }

    /// Monotonic nanoseconds (`uv_hrtime`), for request and upstream durations.
    var hrNow: UInt64 { uv_hrtime() }

    /// Whether requests are written to the access log: only then are the upstream and token
    /// wait phases timed (two clock reads per request fewer otherwise).
    var logsAccess: Bool { accessLog != nil }

    deinit { readBuffer.deallocate() }

    /// Binds every `server.listen` address (SO_REUSEPORT: each worker binds its own socket on
    /// the same addresses and the kernel spreads connections). Throws a one-line reason.
    func listen() throws(StartupError) {
        for address in config.server.listen {
            let l = Listener(worker: self)
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
                let l = Listener(worker: self)
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
        if let address = config.server.adminListen {
            let l = Listener(worker: self, kind: .admin)
            do {
                try l.bind(address)
            } catch {
                l.close()
                throw StartupError("cannot listen on admin address \(address): \(error.message)")
            }
            adminListener = l
            admin = handler
            log.info("admin endpoints on \(address)")
        }
    }

    /// A connection on the admin port: served by its own small connection type.
    func acceptAdmin(from listener: Listener) {
        guard let admin else { return }
        let c = AdminConnection(worker: self, handler: admin)
        guard listener.accept(into: c) else {
            c.close()
            return
        }
        c.start()
    }

    func accept(from listener: Listener) {
        // Read the peer before creating the connection: its address is formatted once.
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

    func requestEnded() {
        activeRequests -= 1
        checkDrained()
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
        for p in upstreamPools { p.closeAll() }
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
        WorkerMetrics(worker: id, requests: metrics, tokenWaits: tokens.waits, openConnections: openConnections, activeRequests: activeRequests,
                      bufferPoolBytes: pool.freeBytes,
                      tlsHandshakes: upstreamPools.compactMap(\.tlsHandshakeCount))
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

extension Worker {
    /// The pool of a route's upstream: routes share one when scheme, host, port and TLS
    /// settings are all equal. An https pool's TLS context is (re)built on every compile, so a
    /// reload picks up replaced CA or certificate files.
    fileprivate func upstreamPoolSlot(_ r: RouteConfig) -> Int {
        let https = r.upstream.scheme == .https
        let settings: TLSClientSettings? = https ? r.tls : nil
        // A route with its own connection limit gets its own pool, so the limit is the route's.
        let limit = r.maxUpstreamConnections
        let key = UpstreamPoolKey(host: r.upstream.host, port: r.upstream.port, tls: settings,
                                  limitedRoute: limit > 0 ? r.name : nil, maxConnections: limit)
        let pool: UpstreamPool
        if let s = poolIndex[key] {
            pool = upstreamPools[s]
        } else {
            pool = UpstreamPool(slot: upstreamPools.count, host: r.upstream.host, port: r.upstream.port, tls: settings, worker: self, maxIdle: limits.upstreamIdleConnections, maxConnections: limit)
            poolIndex[key] = pool.slot
            upstreamPools.append(pool)
            upstreamPoolRefs.append(.passUnretained(pool))
        }
        if let settings {
            pool.tlsContext = tls.clientContext(settings)
            if case .failure(let e) = pool.tlsContext {
                log.error("route \(r.name): TLS setup failed: \(e.message)")
            }
        }
        return pool.slot
    }
}

/// What makes two routes' upstream connections interchangeable.
struct UpstreamPoolKey: Hashable {
    let host: String
    let port: UInt16
    /// nil = http.
    let tls: TLSClientSettings?
    /// Set when the route has `max_upstream_connections`: its pool is its own.
    let limitedRoute: String?
    let maxConnections: Int
}
