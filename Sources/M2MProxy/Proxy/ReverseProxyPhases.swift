/// This proxy's phases (`ProxyPhases`): validate and route the request, inject the route's
/// token, forward it with the forwarding headers, rewrite the response head, decide retries and
/// replays. Each phase is in a file named after it: `+RequestValidation` and `+RouteSelection`
/// (requestFilter), `upstreamPeer` below (applied in `ClientConnection+UpstreamSelection`),
/// `+UpstreamRequestHead` (upstreamRequestFilter), `+ResponseHeadRewrite` (responseFilter),
/// `+RetryDecision` (retryDecision). Token acquisition is the session's
/// (`ClientConnection+TokenAcquisition`), as is all I/O.
struct ReverseProxyPhases: ProxyPhases {
    /// Validation, then route selection and access control.
    @inline(__always)
    func requestFilter<E: ProxyEnvironment>(
        _ ctx: inout RequestContext, _ head: RequestHead, _ log: RequestLog, _ env: E
    ) -> PhaseOutcome {
        // `validate` ends in `selectRoute` (a tail call with the path in hand, as before the
        // phases had a driver: cheaper than returning the path; callgrind).
        if let error = validate(&ctx, head, log, env) { return .respond(error) }
        return .proceed
    }

    @inline(__always)
    func upstreamPeer(_ ctx: inout RequestContext, _ cluster: UpstreamCluster, avoid: UpstreamPool?) -> Unmanaged<UpstreamPool> {
        cluster.pickRef(avoid: avoid)
    }
}
