/// The named steps of proxying one request (pingora `ProxyHttp`, STYLE.md §6), each plain code
/// over the request's `RequestContext` and values: no socket, no libuv handle, so a phase is
/// unit-tested by calling it, and a second protocol (HTTP/2 streams) can drive the same phases.
/// `ProxyDriver` runs them in order:
///
///     requestFilter → (token acquisition) → upstreamPeer → upstreamRequestFilter
///         → responseFilter → logging
///     retryDecision: after a setback from the upstream (connect failure, lost connection, 401)
///
/// `ReverseProxyPhases` is this proxy's set, one file per phase (`ReverseProxyPhases+<Phase>`).
/// Every phase has a default: no-op filters, the cluster's pick for `upstreamPeer`, no retry;
/// the two head builders default to this proxy's (the session writes whatever they build).
protocol ProxyPhases {
    /// Validation, route selection and access control. `.respond` answers the request without
    /// an upstream; `.proceed` leaves the route in `ctx.routeRef`.
    func requestFilter<E: ProxyEnvironment>(
        _ ctx: inout RequestContext, _ head: RequestHead, _ log: RequestLog, _ env: E
    ) -> PhaseOutcome

    /// The endpoint of the next upstream attempt (`avoid`: the endpoint of a failed one),
    /// borrowed, so it must be one of `cluster`'s pools, which the cluster keeps alive (a pool returned as a
    /// strong reference cost a retain/release pair per request; callgrind).
    func upstreamPeer(_ ctx: inout RequestContext, _ cluster: UpstreamCluster, avoid: UpstreamPool?) -> Unmanaged<UpstreamPool>

    /// Builds the upstream request head, final CRLF included, from the client's `head` and the
    /// lines the session holds (`up`): the one place upstream headers change
    /// (`ReverseProxyPhases+UpstreamRequestHead`).
    func upstreamRequestFilter<L: UpstreamHeadLines>(
        _ ctx: inout RequestContext, _ head: RequestHead, _ up: L, _ log: RequestLog,
        _ s: StaticLines, into iov: inout IOVecList
    )

    /// Builds the response head sent to the client, final CRLF included, from the upstream's
    /// (`ReverseProxyPhases+ResponseHeadRewrite`).
    func responseFilter(_ ctx: inout RequestContext, _ r: UpstreamResponseHead, _ s: StaticLines, into iov: inout IOVecList)
    /// The same for an HTTP/2 stream: the fields the client gets, one by one.
    func responseFilter(_ ctx: inout RequestContext, _ r: UpstreamResponseHead, fields: (HeaderSpan) -> Void)

    /// What to do after a setback from the upstream: send the request again, replay it with
    /// a fresh token, or let the setback stand (`ReverseProxyPhases+RetryDecision`).
    func retryDecision(_ ctx: inout RequestContext, after cause: RetryCause) -> RetryVerdict

    /// Runs exactly once per request, success or error (`ProxyDriver.requestEnded`).
    func logging(_ ctx: RequestContext, _ log: RequestLog)
}

/// What a filter decided.
enum PhaseOutcome {
    case proceed
    /// The proxy answers the request itself (the one mapper: `ProxyError`).
    case respond(ProxyError)
}

/// The setbacks `retryDecision` weighs.
enum RetryCause {
    /// A new connection failed before anything was sent (pingora `fail_to_connect`).
    /// `hasAlternatives`: the route's cluster has another endpoint; `retries`: `limits.retries`.
    case connectFailed(reused: Bool, timedOut: Bool, hasAlternatives: Bool, now: UInt64, retries: Int)
    /// The connection closed or reset mid-exchange (pingora `error_while_proxy`).
    case connectionLost(reused: Bool, responseBytesReceived: Bool)
    /// An HTTP/2 upstream refused the request's stream (REFUSED_STREAM, or above a GOAWAY's
    /// last stream id): not processed, RFC 9113 §8.7.
    case streamRefused(responseBytesReceived: Bool)
    /// The upstream answered 401; its header spans, for `WWW-Authenticate`.
    case unauthorized(headers: UnsafeMutablePointer<HeaderSpan>, count: Int)
}

/// What `retryDecision` decided; the session carries it out (`ClientConnection+Retry`).
enum RetryVerdict: Equatable {
    /// The setback stands: the failure is answered (or the connection cut once the response
    /// began), a 401 goes to the client.
    case fail
    /// Send the request again on a new connection, preferably to another endpoint.
    case retryOnFreshConnection
    /// Drop the token the upstream refused, get a fresh one and send the request again.
    case replayWithFreshToken
}

extension ProxyPhases {
    func requestFilter<E: ProxyEnvironment>(
        _ ctx: inout RequestContext, _ head: RequestHead, _ log: RequestLog, _ env: E
    ) -> PhaseOutcome { .proceed }

    func upstreamPeer(_ ctx: inout RequestContext, _ cluster: UpstreamCluster, avoid: UpstreamPool?) -> Unmanaged<UpstreamPool> {
        cluster.pickRef(avoid: avoid)
    }

    // `inout` although most phases only read it: a class's stored struct passed by value is
    // copied first (callgrind: +6 instructions per request for two empty hooks).
    func upstreamRequestFilter<L: UpstreamHeadLines>(
        _ ctx: inout RequestContext, _ head: RequestHead, _ up: L, _ log: RequestLog,
        _ s: StaticLines, into iov: inout IOVecList
    ) {
        ReverseProxyPhases().upstreamRequestFilter(&ctx, head, up, log, s, into: &iov)
    }

    func responseFilter(_ ctx: inout RequestContext, _ r: UpstreamResponseHead, _ s: StaticLines, into iov: inout IOVecList) {
        ReverseProxyPhases().responseFilter(&ctx, r, s, into: &iov)
    }
    func responseFilter(_ ctx: inout RequestContext, _ r: UpstreamResponseHead, fields: (HeaderSpan) -> Void) {
        ReverseProxyPhases().responseFilter(&ctx, r, fields: fields)
    }

    func retryDecision(_ ctx: inout RequestContext, after cause: RetryCause) -> RetryVerdict { .fail }

    func logging(_ ctx: RequestContext, _ log: RequestLog) {}
}
