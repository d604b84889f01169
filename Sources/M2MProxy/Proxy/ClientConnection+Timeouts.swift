/// Timers by phase (DESIGN.md §3 "Timeouts:"), so that each expiry blames the party that was
/// expected to act:
///
/// | phase | timer | on expiry |
/// |---|---|---|
/// | the client sends its body | `body_timeout_ms` (client's timer) | 408, the client |
/// | the upstream does not take the body (client paused for it) | `response_timeout_ms` (upstream's) | 504, the upstream |
/// | request forwarded, response head not started | `response_timeout_ms` | 504, the upstream |
/// | between two reads of the response body | `read_timeout_ms` (0 = none) | cut, the upstream |
/// | tunnel after 101 | `tunnel_idle_timeout_ms` (client's timer) | closed, nobody |
///
/// The upstream's timer never runs while the client is still sending: a stalled uploader must
/// not be answered 504 and count against a healthy upstream.
extension ClientConnection {
    /// The route's override, else `[limits]` (read at each use: a reload applies at once).
    var connectTimeoutMs: Int { route?.config.timeouts.connectTimeoutMs ?? worker.limits.connectTimeoutMs }
    var routeResponseTimeoutMs: Int { route?.config.timeouts.responseTimeoutMs ?? worker.limits.responseTimeoutMs }
    /// The route's, or the client's own deadline (`clientDeadlineMs`) when that is shorter.
    var responseTimeoutMs: Int {
        let ms = routeResponseTimeoutMs
        return clientDeadlineMs > 0 && clientDeadlineMs < ms ? clientDeadlineMs : ms
    }
    var readTimeoutMs: Int { route?.config.timeouts.readTimeoutMs ?? worker.limits.readTimeoutMs }
    var tunnelIdleTimeoutMs: Int { route?.config.timeouts.tunnelIdleTimeoutMs ?? worker.limits.tunnelIdleTimeoutMs }

    /// The request is completely forwarded: the upstream now owes the response head.
    func startResponseTimer(_ u: UpstreamConnection) {
        guard !request.responseHeadSent else { return }
        u.startTimer(ms: responseTimeoutMs)
    }

    /// One read of the response body was passed on: the next must come within read_timeout_ms.
    func startReadTimer(_ u: UpstreamConnection) {
        let ms = readTimeoutMs
        if ms > 0 { u.startTimer(ms: ms) } else { u.stopTimer() }
    }

    /// The upstream stopped taking the request body: it, not the client, is now the one to act.
    func pauseClientForUpstream(_ u: UpstreamConnection) {
        request.clientPausedForUpstream = true
        stopReading()
        if state != .tunnel {
            stopTimer()
            u.startTimer(ms: responseTimeoutMs)
        }
    }

    /// The upstream drained the body bytes: the client sends again, on its own timer.
    func resumeClientAfterUpstream(_ u: UpstreamConnection) {
        request.clientPausedForUpstream = false
        startReadingBody()
        if state == .tunnel {
            startTimer(ms: tunnelIdleTimeoutMs)
        } else if !request.bodyDone {
            u.stopTimer()
            startTimer(ms: worker.limits.bodyTimeoutMs)
        }
    }

    /// Bytes moved through a tunnel (either way): it is not idle.
    @inline(__always)
    func tunnelActive() {
        startTimer(ms: tunnelIdleTimeoutMs)
    }

    /// `tunnel_idle_timeout_ms` passed with no byte either way: neither side is at fault.
    func tunnelIdleExpired() {
        reqLog.errorCode = "tunnel_idle_timeout"
        if let u = upstream {
            upstream = nil
            u.abandon()
        }
        endRequest()
        closeWhenFlushed()
    }

    /// The upstream's timer fired: which timeout it was depends on the phase.
    func upstreamTimerExpired(_ u: UpstreamConnection) {
        if request.responseHeadSent {
            // read_timeout_ms: the body stopped mid-way; the client cannot be told in-band.
            noteUpstreamError(.readTimeout)
            reqLog.errorCode = ProxyError.upstreamTimeout("").code
            abort()
            return
        }
        upstream = nil
        u.abandon()
        let what = request.bodyDone ? "did not start its response" : "did not accept the request body"
        let ms = responseTimeoutMs
        if ms < routeResponseTimeoutMs {
            // The client's deadline, shorter than the route's: the upstream broke no limit of
            // ours, so it is not counted as an upstream error (gRPC reads DEADLINE_EXCEEDED).
            return respond(.upstreamTimeout("upstream \(what) within the client's grpc-timeout of \(ms) ms"))
        }
        noteUpstreamError(.responseTimeout)
        respond(.upstreamTimeout("upstream \(what) within \(ms) ms"))
    }

    /// The client closed or reset its connection before its response was complete (DESIGN.md
    /// §4): the upstream connection is closed at once (a late response would be stale, so it is
    /// never pooled), and the request is logged and counted as 499 `client_closed`; the upstream
    /// is not blamed.
    func clientGone() {
        if reqLog.status == 0 || !request.responseHeadSent { reqLog.status = 499 }
        reqLog.errorCode = Self.clientClosedCode
        abort()
    }

    static let clientClosedCode = "client_closed"
}
