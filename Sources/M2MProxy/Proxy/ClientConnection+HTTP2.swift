/// The switch to HTTP/2 (DESIGN.md §7): a connection whose first bytes are the HTTP/2 preface
/// (llhttp stops there with HPE_PAUSED_H2_UPGRADE, so HTTP/1.1 requests pay nothing for the
/// check) hands everything it read to an `H2Connection`; so does a TLS connection that agreed
/// `h2` in ALPN, from its first byte.
extension ClientConnection {
    func startHTTP2() {
        guard let h = switchToHTTP2(), let head else {
            respond(.badRequest("HTTP/2 is not available"))
            return
        }
        // The preface and whatever followed it, from the start: nghttp2 checks the preface.
        h.received(UnsafeRawBufferPointer(start: head, count: headCount))
        headCount = 0
        headParsed = 0
        giveHead()
    }

    /// A TLS connection that agreed `h2` in ALPN: HTTP/2 from the first byte, whatever it is
    /// (anything but the preface is a PROTOCOL_ERROR, RFC 9113 §3.4).
    func startHTTP2(first data: UnsafeRawBufferPointer) {
        guard let h = switchToHTTP2() else { return abort() }
        h.received(data)
    }

    private func switchToHTTP2() -> H2Connection? {
        let limits = worker.limits
        guard let h = H2Connection(
            client: self, maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderBytes: limits.maxHeaderBytes)
        else { return nil }
        h2 = h
        state = .http2
        startTimer(ms: worker.limits.idleTimeoutMs)
        return h
    }

    /// idle_timeout_ms passed: with no stream open, GOAWAY and close.
    func http2Idle() {
        guard let h2 else { return close() }
        if h2.streamCount == 0 {
            h2.goAway()
            h2.finish()
        } else {
            startTimer(ms: worker.limits.idleTimeoutMs)
        }
    }
}
