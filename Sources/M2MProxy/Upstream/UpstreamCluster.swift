/// The endpoints of one route's upstream on one loop (DESIGN.md §4 "Several endpoints"): every
/// address of every URL in its `upstream` list, each with its own keep-alive pool and TLS
/// sessions (`UpstreamPool`), the balancer that picks one per request, and their passive health.
/// Routes with the same list, TLS settings and policy share a cluster. Everything here belongs
/// to one loop: no lock on the data path.
///
/// Host names are resolved by the control loop every `dns_refresh_ms` (`DNSRefresher`), which
/// posts each name's addresses to every loop (`setAddresses`). Until the first answer for a
/// name, its one endpoint resolves the name when it connects (the first address, as before).
/// An address that leaves DNS retires its pool: idle connections close at once, busy ones after
/// their exchange, and no request picks it again.
final class UpstreamCluster {
    let members: [UpstreamMember]
    let tlsSettings: TLSClientSettings?
    let maxConnections: Int
    let balance: BalancePolicy
    /// The endpoints speak HTTP/2 (`h2c://`, or https with `http2 = true`).
    let http2: Bool
    /// The loop's I/O (its clock) and environment (limits, log, ejection counter).
    let io: LoopIO
    unowned(unsafe) let env: any UpstreamEnvironment
    /// The endpoints requests are spread over, member by member in DNS order.
    private(set) var endpoints: ContiguousArray<UpstreamPool> = [] {
        didSet { endpointRefs = ContiguousArray(endpoints.map { Unmanaged.passUnretained($0) }) }
    }
    /// The same pools unretained, for the data path (`pickRef`): `endpoints` keeps them alive,
    /// and a pool returned out of an Array cost the request a retain/release pair (callgrind).
    private var endpointRefs: ContiguousArray<Unmanaged<UpstreamPool>> = []
    /// Pools whose address left DNS, kept while connections still point at them.
    private var retired: [UpstreamPool] = []
    private var picker: EndpointPicker
    private var maxIdle: Int
    /// The context new connections use (rebuilt on every configuration compile), for every
    /// endpoint, present and future.
    var tlsContext: Result<TLSContext, TLSError>? {
        didSet { for p in endpoints { p.tlsContext = tlsContext } }
    }

    init(members: [UpstreamMember], tls: TLSClientSettings?, maxConnections: Int, balance: BalancePolicy, io: LoopIO, env: any UpstreamEnvironment, maxIdle: Int, seed: UInt64, http2: Bool = false) {
        self.members = members
        self.http2 = http2
        tlsSettings = tls
        self.maxConnections = maxConnections
        self.balance = balance
        self.io = io
        self.env = env
        self.maxIdle = maxIdle
        picker = EndpointPicker(seed: seed)
        for m in members {
            endpoints.append(makePool(m, address: m.isLiteral ? SocketAddress(ip: m.host, port: m.port) : nil))
        }
        // An initializer's own assignments run no `didSet`: without this, `pickRef`'s borrowed
        // path stayed off until a DNS answer replaced the endpoints (never, for IP literals).
        endpointRefs = ContiguousArray(endpoints.map { Unmanaged.passUnretained($0) })
    }

    private func makePool(_ m: UpstreamMember, address: SocketAddress?) -> UpstreamPool {
        let p = UpstreamPool(cluster: self, member: m, address: address, tls: tlsSettings, io: io, env: env, maxIdle: maxIdle, maxConnections: maxConnections, http2: http2)
        p.tlsContext = tlsContext
        return p
    }

    /// The endpoint of the next request. `avoid`: the one a failed attempt used; another is
    /// taken when there is one.
    @inline(__always)
    func pick(avoid: UpstreamPool? = nil) -> UpstreamPool {
        // One endpoint (most routes): no clock read, no picker.
        if endpoints.count == 1 { return endpoints[0] }
        let eps = endpoints
        let now = io.now
        var avoidIndex: Int?
        if let avoid {
            for i in 0..<eps.count where eps[i] === avoid { avoidIndex = i }
        }
        let i = picker.pick(
            count: eps.count, policy: balance, avoid: avoidIndex,
            ejected: { eps[$0].health.isEjected(now: now) }, load: { eps[$0].inFlight })
        return eps[i]
    }

    /// `pick` without ARC: the pool is borrowed, alive while this cluster lists it (and the
    /// request that picked it holds it as its access log's endpoint).
    @inline(__always)
    func pickRef(avoid: UpstreamPool? = nil) -> Unmanaged<UpstreamPool> {
        if endpointRefs.count == 1 { return endpointRefs[0] }
        return Unmanaged.passUnretained(pick(avoid: avoid))
    }

    /// Whether a failed request could still try an endpoint other than `pool`.
    var hasAlternatives: Bool { endpoints.count > 1 }

    /// The addresses DNS gives `host` now (text IPs, from the control loop). Endpoints of
    /// addresses still present keep their pools; new ones start empty; gone ones retire. An
    /// empty answer keeps the current endpoints (a resolver outage must not empty a route).
    func setAddresses(host: String, ips: [String]) {
        guard !ips.isEmpty, members.contains(where: { !$0.isLiteral && $0.host == host }) else { return }
        var next = ContiguousArray<UpstreamPool>()
        var kept = Set<ObjectIdentifier>()
        for m in members {
            guard !m.isLiteral, m.host == host else {
                for p in endpoints where p.host == m.host && p.port == m.port {
                    next.append(p)
                    kept.insert(ObjectIdentifier(p))
                }
                continue
            }
            for ip in ips {
                let label = UpstreamMember.label(ip: ip, port: m.port)
                if let p = endpoints.first(where: { $0.label == label && $0.host == m.host && $0.address != nil }) {
                    if !kept.contains(ObjectIdentifier(p)) {
                        next.append(p)
                        kept.insert(ObjectIdentifier(p))
                    }
                } else if let address = SocketAddress(ip: ip, port: m.port) {
                    let p = makePool(m, address: address)
                    if let sibling = endpoints.first(where: { $0.host == m.host && $0.port == m.port }) {
                        p.tlsSessions.adoptTickets(of: sibling.tlsSessions)
                    }
                    next.append(p)
                }
            }
        }
        for p in endpoints where !kept.contains(ObjectIdentifier(p)) {
            p.retire()
            retired.append(p)
        }
        endpoints = next
        pruneRetired()
    }

    /// Retired pools whose last connection closed are dropped (never from inside one of their
    /// own callbacks: only here, from a control message).
    func pruneRetired() {
        retired.removeAll { p in
            guard p.openConnections == 0 else { return false }
            // Counters must not go down when the pool goes.
            if let c = p.tlsHandshakeCount {
                if let i = retiredHandshakes.firstIndex(where: { $0.upstream == c.upstream }) {
                    retiredHandshakes[i].full &+= c.full
                    retiredHandshakes[i].resumed &+= c.resumed
                } else {
                    retiredHandshakes.append(c)
                }
            }
            return true
        }
    }

    /// TLS handshakes of the pools dropped by `pruneRetired`, per URL (`MetricsSnapshot` sums
    /// them with the live pools' by label).
    private var retiredHandshakes: [UpstreamHandshakeCount] = []

    /// Handshake counts of every pool, dropped ones included, for `/metrics`.
    var tlsHandshakeCounts: [UpstreamHandshakeCount] {
        (Array(endpoints) + retired).compactMap(\.tlsHandshakeCount) + retiredHandshakes
    }

    /// `pool` just reached `max_fails`: the other loops learn it through the control loop.
    func ejected(_ pool: UpstreamPool, forMs ms: Int) {
        env.log.warning("upstream endpoint \(pool.label) ejected for \(ms) ms after \(env.limits.maxFails) consecutive connection failure(s)")
        env.endpointEjected(label: pool.label, forMs: ms)
    }

    /// Another loop ejected the endpoint named `label`.
    func applyEjection(label: String, forMs ms: Int, now: UInt64) {
        for p in endpoints where p.label == label { p.health.eject(now: now, forMs: ms) }
    }

    func setIdleCap(_ n: Int) {
        maxIdle = n
        for p in endpoints { p.setIdleCap(n) }
    }

    func closeAll() {
        for p in endpoints { p.closeAll() }
    }

    /// The worker's trim tick (`IdleCapPolicy`).
    func trimIdle() {
        for p in endpoints { p.trimIdle() }
    }

}

@available(*, unavailable)
extension UpstreamCluster: Sendable {}
