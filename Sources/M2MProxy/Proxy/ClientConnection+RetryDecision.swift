/// The retry and replay decisions: a request is sent again on a fresh upstream connection when a
/// pooled one closed under it before any response (once, and only when that is safe), and
/// replayed once with a fresh token after an upstream `401 invalid_token` (DESIGN.md §5).
extension ClientConnection {
    /// The upstream closed or reset the connection mid-exchange.
    func upstreamLost(_ c: UpstreamConnection, _ error: UVError) {
        guard isUpstream(c) else { return }
        upstream = nil
        c.abandon()
        if RetryDecision.mayRetryOnFreshConnection(
            responseStarted: responseHeadSent || c.receivedResponseBytes, connectionReused: c.isReused,
            bodyStreamed: bodyFromSocket, alreadyRetried: retried, requestBytesSent: requestBytesSent, method: methodCode) {
            retried = true
            // Body bytes must wait in the kernel while the new connection is set up.
            if hasBody && !bodyDone { stopReading() }
            let pool = worker.upstreamPools[route!.upstreamSlot]
            let fresh = pool.makeConnection()
            upstream = fresh
            state = .connectingUpstream
            fresh.open(for: self)
            return
        }
        noteUpstreamError(.lost(error))
        if responseHeadSent {
            abort()
        } else {
            let what = error == .eof ? "upstream closed the connection before responding"
                : error == .eproto ? "TLS with upstream failed: \(c.tlsFailure ?? "unknown error")"
                : "upstream connection failed before responding: \(error.message)"
            respond(.upstreamUnavailable(what))
        }
    }

    /// DESIGN.md §5: an upstream `401` with `WWW-Authenticate: Bearer … error="invalid_token"` to a
    /// token we injected gets one replay with a fresh token, if the request is still held whole.
    func shouldReplayAfter401(_ u: UpstreamConnection) -> Bool {
        guard route?.tokenSlot != nil, sentToken != nil, !replayed, bodyDone, !bodyFromSocket else { return false }
        let p = u.parser
        return RetryDecision.saysInvalidToken(headers: p.headers, count: p.headerCount)
    }

    func replayWithFreshToken(_ u: UpstreamConnection) {
        guard let slot = route?.tokenSlot, let sent = sentToken else { return }
        replayed = true
        // The 401's body is not wanted: drop that connection rather than read it.
        upstream = nil
        u.abandon()
        responseHeadStart = 0
        responseHeadParsed = 0
        responseConnectionTokens.reset()
        worker.tokens.invalidate(slot: slot, token: sent)
        awaitToken(slot: slot)
    }
}
