/// What makes two routes' upstream endpoints interchangeable (`RouteTable`).
struct UpstreamClusterKey: Hashable {
    /// Host, port and authority of each URL, in order.
    let endpoints: [String]
    /// nil = http.
    let tls: TLSClientSettings?
    let balance: BalancePolicy
    /// Set when the route has `max_upstream_connections`: its cluster is its own.
    let limitedRoute: String?
    let maxConnections: Int
    /// `h2c://`, or https with `http2 = true` (its TLS settings then offer ALPN h2).
    let http2: Bool

    /// Routes share a cluster when their URL lists, TLS settings and balance policy are equal;
    /// a route with its own connection limit gets its own, so the limit is the route's.
    init(route r: RouteConfig) {
        endpoints = r.upstreams.map { "\($0.host) \($0.port) \($0.authority)" }
        tls = r.upstream.scheme == .https ? r.tls.offering(http2: r.http2) : nil
        http2 = r.upstreamHTTP2
        balance = r.balance
        let limit = r.maxUpstreamConnections
        limitedRoute = limit > 0 ? r.name : nil
        maxConnections = limit
    }
}
