/// Carrying out the retry and replay verdicts (`ReverseProxyPhases+RetryDecision` decides): a
/// request sent again on a fresh upstream connection after a pooled one closed under it, or
/// replayed once with a fresh token after an upstream `401 invalid_token` (DESIGN.md §5).
extension ClientConnection {
    /// The upstream closed or reset the connection mid-exchange.
    func upstreamLost(_ c: UpstreamConnection, _ error: UVError) {
        guard isUpstream(c) else { return }
        upstream = nil
        // An HTTP/2 stream the upstream refused: not processed (RFC 9113 §8.7), and no failure
        // of the endpoint (it answered, deliberately).
        let refused = c.streamRefused
        // Reset or closed before any response on a new connection: the endpoint's failure.
        if !c.isReused && !c.receivedResponseBytes && !refused { c.pool.noteFailure() }
        c.abandon()
        let cause: RetryCause = refused
            ? .streamRefused(responseBytesReceived: c.receivedResponseBytes)
            : .connectionLost(reused: c.isReused, responseBytesReceived: c.receivedResponseBytes)
        if driver.retryDecision(self, after: cause) == .retryOnFreshConnection {
            request.retried = true
            // Body bytes must wait in the kernel while the new connection is set up.
            if request.hasBody && !request.bodyDone { stopReading() }
            // Preferably on another endpoint: this one may have just restarted.
            let fresh = selectEndpoint(route!.upstreamSlot, avoid: c.pool).takeUnretainedValue().makeConnection()
            upstream = fresh
            state = .connectingUpstream
            fresh.open(for: self, budgetMs: connectTimeoutMs)
            return
        }
        noteUpstreamError(refused ? .refusedStream : .lost(error))
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
