/// The retry and replay decisions: a request is sent again on a fresh upstream connection when a
/// pooled one closed under it before any response (once, and only when that is safe), and
/// replayed once with a fresh token after an upstream `401 invalid_token` (DESIGN.md §5).
extension ClientConnection {
    /// The upstream closed or reset the connection mid-exchange.
    func upstreamLost(_ c: UpstreamConnection, _ error: UVError) {
        guard isUpstream(c) else { return }
        upstream = nil
        // An HTTP/2 stream the upstream refused: not processed (RFC 9113 §8.7), and no failure
        // of the endpoint (it answered, deliberately).
        let refused = c.streamRefused
        let responseStarted = request.responseHeadSent || c.receivedResponseBytes
        // Reset or closed before any response on a new connection: the endpoint's failure.
        if !c.isReused && !c.receivedResponseBytes && !refused { c.pool.noteFailure() }
        c.abandon()
        let retry = refused
            ? RetryDecision.mayRetryRefusedStream(responseStarted: responseStarted, bodyStreamed: request.bodyFromSocket, alreadyRetried: request.retried)
            : RetryDecision.mayRetryOnFreshConnection(
                responseStarted: responseStarted, connectionReused: c.isReused, bodyStreamed: request.bodyFromSocket,
                alreadyRetried: request.retried, requestBytesSent: request.requestBytesSent, method: request.methodCode)
        if retry {
            request.retried = true
            // Body bytes must wait in the kernel while the new connection is set up.
            if request.hasBody && !request.bodyDone { stopReading() }
            // Preferably on another endpoint: this one may have just restarted.
            let pool = selectEndpoint(route!.upstreamSlot, avoid: c.pool)
            let fresh = pool.makeConnection()
            upstream = fresh
            state = .connectingUpstream
            fresh.open(for: self, budgetMs: connectTimeoutMs)
            return
        }
        noteUpstreamError(.lost(error))
        if request.responseHeadSent {
            abort()
        } else {
            let what = refused ? "upstream refused the request's HTTP/2 stream (REFUSED_STREAM or GOAWAY) before processing it"
                : error == .eof ? "upstream closed the connection before responding"
                : error == .eproto ? "TLS with upstream failed: \(c.tlsFailure ?? "unknown error")"
                : "upstream connection failed before responding: \(error.message)"
            respond(.upstreamUnavailable(what))
        }
    }

    /// DESIGN.md §5: an upstream `401` with `WWW-Authenticate: Bearer … error="invalid_token"` to a
    /// token we injected gets one replay with a fresh token, if the request is still held whole.
    func shouldReplayAfter401(_ u: UpstreamConnection) -> Bool {
        guard route?.tokenSlot != nil, request.sentToken != nil, !request.replayed, request.bodyDone, !request.bodyFromSocket else { return false }
        let p = u.parser
        return RetryDecision.saysInvalidToken(headers: p.headers, count: p.headerCount)
    }

    func replayWithFreshToken(_ u: UpstreamConnection) {
        guard let slot = route?.tokenSlot, let sent = request.sentToken else { return }
        request.replayed = true
        // The 401's body is not wanted: drop that connection rather than read it.
        upstream = nil
        u.abandon()
        request.responseHeadStart = 0
        request.responseHeadParsed = 0
        request.responseConnectionTokens.reset()
        worker.tokens.invalidate(slot: slot, token: sent)
        awaitToken(slot: slot)
    }
}
