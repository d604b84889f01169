/// One loop's routes and upstream pools: the router of the current configuration, the routers
/// of earlier generations (requests in flight still point at their routes, unowned), and the
/// upstream pools keyed by `UpstreamPoolKey`. Held by value in `Worker`, so the data path reads
/// `routerRef` and `poolRefs` with plain loads.
struct RouteTable {
    private(set) var router: Router? {
        didSet { routerRef = router.map { .passUnretained($0) } }
    }
    /// Routers replaced by reloads: requests in flight still point at their routes (unowned),
    /// so they stay alive. Reloads are rare and routes small.
    private var retired: [Router] = []
    /// Pools only grow: a slot stays valid for requests of any configuration generation.
    private(set) var pools: [UpstreamPool] = []
    private var poolIndex: [UpstreamPoolKey: Int] = [:]
    /// `router` and `pools` borrowed for the data path: loading a class reference out of a class
    /// field or an array costs a retain/release pair under callgrind; the table keeps them alive
    /// (pools only grow; replaced routers are retired, not freed). Use with
    /// `_withUnsafeGuaranteedRef`.
    private(set) var routerRef: Unmanaged<Router>?
    private(set) var poolRefs: ContiguousArray<Unmanaged<UpstreamPool>> = []
    /// Any allow_cidrs configured: only then is the client address checked per request.
    private(set) var hasAccessControl = false

    /// Compiles `config`'s routes and makes them the current ones. Routes sharing an upstream
    /// share a pool, routes sharing a token key a token (DESIGN.md §5): `tokenSlots` are the
    /// token cache's. Existing pools are reused and their idle cap updated; requests of earlier
    /// generations log and count under their route's new position, or as "none" (-1) when the
    /// route is gone.
    mutating func install(_ config: ProxyConfig, tokenSlots: [Int?], worker: Worker) {
        var compiled: [CompiledRoute] = []
        for (i, r) in config.routes.enumerated() {
            let slot = poolSlot(r, worker: worker)
            compiled.append(CompiledRoute(index: i, config: r, upstreamSlot: slot, tokenSlot: tokenSlots[i]))
        }
        // Every pool, also one no route uses any more (requests in flight still return to it).
        for p in pools { p.setIdleCap(config.limits.upstreamIdleConnections) }
        if let router { retired.append(router) }
        router = Router(routes: compiled)
        hasAccessControl = config.server.allowCIDRs != nil || config.routes.contains { $0.allowCIDRs != nil }
        var position: [String: Int] = [:]
        for r in compiled { position[r.config.name] = r.index }
        for old in retired {
            for r in old.routes { r.index = position[r.config.name] ?? -1 }
        }
    }

    /// The pool of a route's upstream. An https pool's TLS context is (re)built on every
    /// install, so a reload picks up replaced CA or certificate files.
    private mutating func poolSlot(_ r: RouteConfig, worker: Worker) -> Int {
        let key = UpstreamPoolKey(route: r)
        let pool: UpstreamPool
        if let s = poolIndex[key] {
            pool = pools[s]
        } else {
            pool = UpstreamPool(
                slot: pools.count, host: key.host, port: key.port, tls: key.tls, worker: worker,
                maxIdle: worker.limits.upstreamIdleConnections, maxConnections: key.maxConnections)
            poolIndex[key] = pool.slot
            pools.append(pool)
            poolRefs.append(.passUnretained(pool))
        }
        if let settings = key.tls {
            pool.tlsContext = worker.tls.clientContext(settings)
            if case .failure(let e) = pool.tlsContext {
                worker.log.error("route \(r.name): TLS setup failed: \(e.message)")
            }
        }
        return pool.slot
    }
}
