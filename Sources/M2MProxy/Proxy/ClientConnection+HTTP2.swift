/// The switch to HTTP/2 (DESIGN.md §7): a connection whose first bytes are the HTTP/2 preface
/// (llhttp stops there with HPE_PAUSED_H2_UPGRADE, so HTTP/1.1 requests pay nothing for the
/// check) hands everything it read to an `H2Connection`.
extension ClientConnection {
    func startHTTP2() {
        guard let h = H2Connection(client: self, maxHeaderBytes: worker.limits.maxHeaderBytes),
              let head
        else {
            respond(.badRequest("HTTP/2 is not available"))
            return
        }
        h2 = h
        state = .http2
        startTimer(ms: worker.limits.idleTimeoutMs)
        // The preface and whatever followed it, from the start: nghttp2 checks the preface.
        h.received(UnsafeRawBufferPointer(start: head, count: headCount))
        headCount = 0
        headParsed = 0
        giveHead()
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
