/// One loop's routes and upstream clusters: the router of the current configuration, the
/// routers of earlier generations (requests in flight still point at their routes, unowned),
/// and the upstream clusters (a route's endpoints, each with its pool) keyed by
/// `UpstreamClusterKey`. Held by value in `Worker`, so the data path reads `routerRef` and
/// `clusterRefs` with plain loads.
struct RouteTable {
    private(set) var router: Router? {
        didSet { routerRef = router.map { .passUnretained($0) } }
    }
    /// Routers replaced by reloads: requests in flight still point at their routes (unowned),
    /// so they stay alive. Reloads are rare and routes small.
    private var retired: [Router] = []
    /// Clusters only grow: a slot stays valid for requests of any configuration generation.
    private(set) var clusters: [UpstreamCluster] = []
    private var clusterIndex: [UpstreamClusterKey: Int] = [:]
    /// `router` and `clusters` borrowed for the data path: loading a class reference out of a
    /// class field or an array costs a retain/release pair under callgrind; the table keeps them
    /// alive (clusters only grow; replaced routers are retired, not freed). Use with
    /// `_withUnsafeGuaranteedRef`.
    private(set) var routerRef: Unmanaged<Router>?
    private(set) var clusterRefs: ContiguousArray<Unmanaged<UpstreamCluster>> = []
    /// Any allow_cidrs configured: only then is the client address checked per request.
    private(set) var hasAccessControl = false

    /// Compiles `config`'s routes and makes them the current ones. Routes sharing an upstream
    /// list share a cluster, routes sharing a token key a token (DESIGN.md §5): `tokenSlots` are
    /// the token cache's. Existing clusters are reused and their idle cap updated; requests of earlier
    /// generations log and count under their route's new position, or as "none" (-1) when the
    /// route is gone.
    mutating func install(_ config: ProxyConfig, tokenSlots: [Int?], worker: Worker) {
        var compiled: [CompiledRoute] = []
        for (i, r) in config.routes.enumerated() {
            let slot = clusterSlot(r, worker: worker)
            compiled.append(CompiledRoute(index: i, config: r, upstreamSlot: slot, tokenSlot: tokenSlots[i]))
        }
        // Every cluster, also one no route uses any more (requests in flight still return to it).
        for c in clusters { c.setIdleCap(config.limits.upstreamIdleConnections) }
        if let router { retired.append(router) }
        router = Router(routes: compiled)
        hasAccessControl = config.server.allowCIDRs != nil || config.routes.contains { $0.allowCIDRs != nil }
        var position: [String: Int] = [:]
        for r in compiled { position[r.config.name] = r.index }
        for old in retired {
            for r in old.routes { r.index = position[r.config.name] ?? -1 }
        }
    }

    /// The cluster of a route's upstream list. Its endpoints start from the loop's latest DNS
    /// answers. An https cluster's TLS context is (re)built on every install, so a reload picks
    /// up replaced CA or certificate files.
    private mutating func clusterSlot(_ r: RouteConfig, worker: Worker) -> Int {
        let key = UpstreamClusterKey(route: r)
        let cluster: UpstreamCluster
        let slot: Int
        if let s = clusterIndex[key] {
            slot = s
            cluster = clusters[s]
        } else {
            slot = clusters.count
            cluster = UpstreamCluster(
                members: r.upstreams.map(UpstreamMember.init), tls: key.tls, maxConnections: key.maxConnections,
                balance: r.balance, io: worker.io, env: worker, maxIdle: worker.limits.upstreamIdleConnections,
                seed: UInt64(worker.id + 1) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(slot + 1), http2: key.http2)
            clusterIndex[key] = slot
            clusters.append(cluster)
            clusterRefs.append(.passUnretained(cluster))
            for u in r.upstreams {
                if let ips = worker.knownAddresses[u.host] { cluster.setAddresses(host: u.host, ips: ips) }
            }
        }
        if let settings = key.tls {
            cluster.tlsContext = worker.tls.clientContext(settings)
            if case .failure(let e) = cluster.tlsContext {
                worker.log.error("route \(r.name): TLS setup failed: \(e.message)")
            }
        }
        return slot
    }
}
