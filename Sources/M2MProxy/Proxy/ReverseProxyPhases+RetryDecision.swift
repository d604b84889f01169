/// The retry and replay decision (`retryDecision`, pingora's `fail_to_connect` and
/// `error_while_proxy`): after a setback from the upstream (a new connection failed, a
/// connection was lost mid-exchange, a 401), the request is sent again on a fresh connection,
/// replayed with a fresh token, or the setback stands. The rules are the pure functions of
/// `RetryDecision`; this phase applies them to the request's context (`RetryDecisionPhaseTests`).
/// The session carries the verdict out (`ClientConnection+Retry`, `+UpstreamSelection`).
extension ReverseProxyPhases {
    func retryDecision(_ ctx: inout RequestContext, after cause: RetryCause) -> RetryVerdict {
        switch cause {
        case .connectionLost(let reused, let responseBytesReceived):
            // Once, on a connection that had served requests before, before any response byte,
            // with every byte to re-send still held, and idempotent unless nothing was sent.
            let may = RetryDecision.mayRetryOnFreshConnection(
                responseStarted: ctx.responseHeadSent || responseBytesReceived, connectionReused: reused,
                bodyStreamed: ctx.bodyFromSocket, alreadyRetried: ctx.retried, requestBytesSent: ctx.requestBytesSent,
                method: ctx.methodCode)
            return may ? .retryOnFreshConnection : .fail
        case .streamRefused(let responseBytesReceived):
            // The server did not process it: once, for any method, while every byte is held.
            let may = RetryDecision.mayRetryRefusedStream(
                responseStarted: ctx.responseHeadSent || responseBytesReceived, bodyStreamed: ctx.bodyFromSocket,
                alreadyRetried: ctx.retried)
            return may ? .retryOnFreshConnection : .fail
        case .connectFailed(let reused, let timedOut, let hasAlternatives, let now, let retries):
            // Failover (DESIGN.md §4): a new connection failed before anything was sent; another
            // endpoint is tried while retries and the shared connect timeout last. Not after a
            // connect timeout: that one spent the whole budget.
            guard !reused, !ctx.responseHeadSent, !timedOut, ctx.routeRef != nil, hasAlternatives,
                  ctx.failover.mayRetry(now: now, retries: retries) else { return .fail }
            return .retryOnFreshConnection
        case .unauthorized(let headers, let count):
            // DESIGN.md §5: an upstream `401` with `WWW-Authenticate: Bearer … error="invalid_token"`
            // to a token we injected gets one replay with a fresh token, if the request is
            // still held whole.
            let tokenRoute = ctx.routeRef?._withUnsafeGuaranteedRef { $0.tokenSlot } != nil
            guard tokenRoute, ctx.sentToken != nil, !ctx.replayed, ctx.bodyDone, !ctx.bodyFromSocket else { return .fail }
            return RetryDecision.saysInvalidToken(headers: headers, count: count) ? .replayWithFreshToken : .fail
        }
    }
}
