/// What makes two routes' upstream connections interchangeable (`RouteTable`).
struct UpstreamPoolKey: Hashable {
    let host: String
    let port: UInt16
    /// nil = http.
    let tls: TLSClientSettings?
    /// Set when the route has `max_upstream_connections`: its pool is its own.
    let limitedRoute: String?
    let maxConnections: Int

    /// Routes share a pool when scheme, host, port and TLS settings are all equal; a route with
    /// its own connection limit gets its own pool, so the limit is the route's.
    init(route r: RouteConfig) {
        host = r.upstream.host
        port = r.upstream.port
        tls = r.upstream.scheme == .https ? r.tls : nil
        let limit = r.maxUpstreamConnections
        limitedRoute = limit > 0 ? r.name : nil
        maxConnections = limit
    }
}
