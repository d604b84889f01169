/// The named steps of proxying one request (pingora `ProxyHttp`, STYLE.md §6), each plain code
/// over the request's `RequestContext` and values: no socket, no libuv handle, so a phase is
/// unit-tested by calling it, and a second protocol (HTTP/2 streams) can drive the same phases.
/// `ProxyDriver` runs them in order:
///
///     requestFilter → (token acquisition) → upstreamPeer → upstreamRequestFilter
///         → responseFilter → logging
///
/// Every phase has a no-op default (`upstreamPeer` takes the cluster's pick); `ReverseProxyPhases`
/// is this proxy's set.
protocol ProxyPhases {
    /// Validation, route selection and access control. `.respond` answers the request without
    /// an upstream; `.proceed` leaves the route in `ctx.routeRef`.
    func requestFilter<E: ProxyEnvironment>(
        _ ctx: inout RequestContext, _ head: RequestHead, _ log: RequestLog, _ env: E
    ) -> PhaseOutcome

    /// The endpoint of the next upstream attempt (`avoid`: the endpoint of a failed one).
    func upstreamPeer(_ ctx: inout RequestContext, _ cluster: UpstreamCluster, avoid: UpstreamPool?) -> UpstreamPool

    /// Header lines added to the upstream request head, after the proxy's own
    /// (`ClientConnection+UpstreamRequestHead`: hop-by-hop dropped, Authorization and the
    /// X-Forwarded-* lines set) and before its final CRLF.
    func upstreamRequestFilter(_ ctx: inout RequestContext, into iov: inout IOVecList)

    /// Header lines added to the response head sent to the client, after the proxy's own
    /// rewrite (`ClientConnection+ResponseHeadRewrite`) and before its final CRLF.
    func responseFilter(_ ctx: inout RequestContext, status: Int, into iov: inout IOVecList)

    /// Runs exactly once per request, success or error (`ProxyDriver.requestEnded`).
    func logging(_ ctx: RequestContext, _ log: RequestLog)
}

/// What a filter decided.
enum PhaseOutcome {
    case proceed
    /// The proxy answers the request itself (the one mapper: `ProxyError`).
    case respond(ProxyError)
}

extension ProxyPhases {
    func requestFilter<E: ProxyEnvironment>(
        _ ctx: inout RequestContext, _ head: RequestHead, _ log: RequestLog, _ env: E
    ) -> PhaseOutcome { .proceed }

    func upstreamPeer(_ ctx: inout RequestContext, _ cluster: UpstreamCluster, avoid: UpstreamPool?) -> UpstreamPool {
        cluster.pick(avoid: avoid)
    }

    // `inout` although the defaults only read it: a class's stored struct passed by value is
    // copied first (callgrind: +6 instructions per request for two empty hooks).
    func upstreamRequestFilter(_ ctx: inout RequestContext, into iov: inout IOVecList) {}
    func responseFilter(_ ctx: inout RequestContext, status: Int, into iov: inout IOVecList) {}
    func logging(_ ctx: RequestContext, _ log: RequestLog) {}
}
