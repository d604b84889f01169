/// The loop's upstream clusters (DESIGN.md §4 "Several endpoints"): built per route on every
/// configuration compile, fed with DNS answers and other loops' ejections by the control loop,
/// and reported to `/upstreams` and `/metrics`.
extension Worker {
    /// The cluster of a route's upstream list: routes share one when their URLs, TLS settings,
    /// balance policy and connection limit agree. An https cluster's TLS context is (re)built
    /// on every compile, so a reload picks up replaced CA or certificate files.
    func upstreamClusterSlot(_ r: RouteConfig) -> Int {
        let https = r.upstream.scheme == .https
        let settings: TLSClientSettings? = https ? r.tls : nil
        // A route with its own connection limit gets its own cluster, so the limit is the route's.
        let limit = r.maxUpstreamConnections
        let key = UpstreamClusterKey(
            endpoints: r.upstreams.map { "\($0.host) \($0.port) \($0.authority)" }, tls: settings,
            balance: r.balance, limitedRoute: limit > 0 ? r.name : nil, maxConnections: limit)
        let cluster: UpstreamCluster
        if let s = clusterIndex[key] {
            cluster = upstreamClusters[s]
        } else {
            let slot = upstreamClusters.count
            cluster = UpstreamCluster(
                members: r.upstreams.map(UpstreamMember.init), tls: settings, maxConnections: limit,
                balance: r.balance, worker: self, maxIdle: limits.upstreamIdleConnections,
                seed: UInt64(id + 1) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(slot + 1))
            clusterIndex[key] = slot
            upstreamClusters.append(cluster)
            upstreamClusterRefs.append(.passUnretained(cluster))
            if let ips = knownAddresses[r.upstream.host] { cluster.setAddresses(host: r.upstream.host, ips: ips) }
            for u in r.upstreams.dropFirst() {
                if let ips = knownAddresses[u.host] { cluster.setAddresses(host: u.host, ips: ips) }
            }
        }
        if let settings {
            cluster.tlsContext = tls.clientContext(settings)
            if case .failure(let e) = cluster.tlsContext {
                log.error("route \(r.name): TLS setup failed: \(e.message)")
            }
        }
        return slot(of: cluster)
    }

    private func slot(of cluster: UpstreamCluster) -> Int {
        upstreamClusters.firstIndex { $0 === cluster }!
    }

    /// The control loop's latest answer for `host` (every A and AAAA address).
    func setEndpointAddresses(host: String, ips: [String]) {
        knownAddresses[host] = ips
        for c in upstreamClusters { c.setAddresses(host: host, ips: ips) }
    }

    /// An endpoint of this loop reached `max_fails`: the other loops eject it too.
    func endpointEjected(label: String, forMs ms: Int) {
        control.post(.endpointEjected(label: label, forMs: ms, worker: id))
    }

    /// Another loop ejected the endpoint named `label`.
    func applyEjection(label: String, forMs ms: Int) {
        let now = now
        for c in upstreamClusters { c.applyEjection(label: label, forMs: ms, now: now) }
    }

    /// Every route's endpoints as this loop sees them, for `/upstreams` and `/metrics`.
    func endpointStats() -> [EndpointStats] {
        let now = now
        var out: [EndpointStats] = []
        for c in upstreamClusters { c.pruneRetired() }
        for r in router.routes {
            let cluster = upstreamClusters[r.upstreamSlot]
            for p in cluster.endpoints {
                let until = p.health.ejectedUntil
                out.append(EndpointStats(
                    route: r.config.name, endpoint: p.label, resolved: p.address != nil,
                    ejectedForMs: until > now ? Int(until - now) : 0,
                    open: p.openConnections, idle: p.idleCount, inFlight: p.inFlight,
                    requests: p.requests, failures: p.failures, ejections: p.health.ejections))
            }
        }
        return out
    }
}

/// What makes two routes' upstream endpoints interchangeable.
struct UpstreamClusterKey: Hashable {
    /// Host, port and authority of each URL, in order.
    let endpoints: [String]
    /// nil = http.
    let tls: TLSClientSettings?
    let balance: BalancePolicy
    /// Set when the route has `max_upstream_connections`: its cluster is its own.
    let limitedRoute: String?
    let maxConnections: Int
}

/// One endpoint of one route on one loop, at scrape time (summed by the control loop).
struct EndpointStats: Sendable, Equatable {
    var route: String
    var endpoint: String
    /// False while the name's first DNS answer is awaited (the endpoint is `host:port`).
    var resolved: Bool
    /// 0 = healthy.
    var ejectedForMs: Int
    var open: Int
    var idle: Int
    var inFlight: Int
    var requests: UInt64
    var failures: UInt64
    var ejections: UInt64
}
