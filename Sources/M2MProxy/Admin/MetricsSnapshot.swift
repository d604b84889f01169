/// Everything `/metrics` shows, summed over the loops at scrape time. A plain value, so the
/// Prometheus rendering is tested without sockets.
struct MetricsSnapshot {
    struct RequestCount: Equatable {
        var route: String
        var code: Int
        var protocolLabel: String
        var count: UInt64
    }

    struct UpstreamErrorCount: Equatable {
        var route: String
        var kind: String
        var count: UInt64
    }

    /// Token metrics are labelled {credential, resource} (DESIGN.md §6). Keys that differ only in
    /// scopes or organization share those labels, so their series are summed (counters,
    /// histograms) or the soonest expiry is shown: one series per label set, as Prometheus needs.
    struct TokenGroup {
        var credential: String
        var resource: String
        var outcomes: [String: Int] = [:]
        var fetchDurations = Histogram()
        /// Seconds until the soonest expiry of a held token; nil when none is held.
        var expirySeconds: Int?
    }

    /// Upstream TLS handshakes of one upstream, counted by the Upstream layer.
    typealias TLSHandshakeCount = UpstreamHandshakeCount

    /// Sorted by route (file order, "none" last), then code, then protocol.
    var requests: [RequestCount] = []
    /// Per route in file order, then "none".
    var durations: [(route: String, histogram: Histogram)] = []
    var upstreamErrors: [UpstreamErrorCount] = []
    var tokens: [TokenGroup] = []
    var tokenCacheWaits = 0
    var openConnections = 0
    var activeRequests = 0
    /// Bytes of free pooled buffers, all loops together.
    var bufferPoolBytes = 0
    /// Requests answered by each worker loop, by worker id.
    var workerRequests: [UInt64] = []
    /// One entry per https upstream, in order of first appearance.
    var tlsHandshakes: [TLSHandshakeCount] = []
    /// Every route's endpoints, summed over the loops (`UpstreamsReport.merge`).
    var endpoints: [EndpointStats] = []
    /// The token store's counters (all zero without `[token_store]`).
    var tokenStore = TokenStoreStats()

    init() {}

    /// Sums the loops' counters (all built from the same route list).
    init(metrics: [RequestMetrics], tokens: [TokenSnapshot], tokenCacheWaits: Int, openConnections: Int, activeRequests: Int) {
        self.tokenCacheWaits = tokenCacheWaits
        self.openConnections = openConnections
        self.activeRequests = activeRequests
        guard let first = metrics.first else { return }
        // A scrape that raced a reload may find loops with different route lists: count only
        // the loops that agree with the first (the others have just reset their counters).
        let metrics = metrics.filter { $0.routeNames == first.routeNames }
        for row in 0..<first.rows {
            let route = first.rowName(row)
            var byCode: [Int: [UInt64]] = [:]
            var histogram = Histogram()
            for m in metrics {
                for (column, code) in m.codes.enumerated() {
                    for p in RequestProtocol.allCases {
                        let n = m.requestCount(row: row, column: column, protocol: p)
                        if n > 0 { byCode[code, default: [UInt64](repeating: 0, count: RequestMetrics.protocols)][p.rawValue] &+= n }
                    }
                }
                histogram.merge(m.durations[row])
            }
            for code in byCode.keys.sorted() {
                for p in RequestProtocol.allCases where byCode[code]![p.rawValue] > 0 {
                    requests.append(RequestCount(route: route, code: code, protocolLabel: p.label, count: byCode[code]![p.rawValue]))
                }
            }
            durations.append((route, histogram))
            for kind in UpstreamErrorKind.allCases {
                let n = metrics.reduce(UInt64(0)) { $0 &+ $1.upstreamErrorCount(row: row, kind: kind) }
                if n > 0 { upstreamErrors.append(UpstreamErrorCount(route: route, kind: kind.label, count: n)) }
            }
        }
        for t in tokens {
            let resource = t.resource ?? ""
            var i = self.tokens.firstIndex { $0.credential == t.credential && $0.resource == resource }
            if i == nil {
                self.tokens.append(TokenGroup(credential: t.credential, resource: resource))
                i = self.tokens.count - 1
            }
            for (outcome, n) in t.outcomes { self.tokens[i!].outcomes[outcome, default: 0] += n }
            self.tokens[i!].fetchDurations.merge(t.fetchDurations)
            if let left = t.expiresInSeconds {
                self.tokens[i!].expirySeconds = min(self.tokens[i!].expirySeconds ?? left, left)
            }
        }
    }

    /// Adds one pool's handshake counts to its upstream's series.
    mutating func addTLSHandshakes(_ c: TLSHandshakeCount) {
        if let i = tlsHandshakes.firstIndex(where: { $0.upstream == c.upstream }) {
            tlsHandshakes[i].full &+= c.full
            tlsHandshakes[i].resumed &+= c.resumed
        } else {
            tlsHandshakes.append(c)
        }
    }
}
