/// The loop's upstream clusters (DESIGN.md §4 "Several endpoints"; built by `RouteTable`): fed
/// with DNS answers and other loops' ejections by the control loop,
/// and reported to `/upstreams` and `/metrics`.
extension Worker {
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
        guard let router = routerRef?.takeUnretainedValue() else { return out }
        for r in router.routes {
            let cluster = upstreamClusters[r.upstreamSlot]
            for p in cluster.endpoints {
                let until = p.health.ejectedUntil
                out.append(EndpointStats(
                    route: r.config.name, endpoint: p.label, resolved: p.address != nil,
                    ejectedForMs: until > now ? Int(until - now) : 0,
                    open: p.openConnections, idle: p.idleCount, inFlight: p.inFlight,
                    requests: p.requests, failures: p.failures, ejections: p.health.ejections,
                    handoffs: p.handoffs))
            }
        }
        return out
    }
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
    /// Finishing connections handed to a request that was opening a new one (`UpstreamPool`).
    var handoffs: UInt64 = 0
}
