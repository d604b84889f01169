/// The logging phase (STYLE.md §6): runs exactly once per request, success or error, from
/// `endRequest()` (through `ProxyDriver.requestEnded`). It records the request in the loop's metrics and access log. The other
/// files only drop one-line notes into `reqLog` (status sent, upstream reached, token wait).
///
/// A request starts with its first byte and ends when its response is complete, or when the
/// exchange is cut. A request cut before any status line was sent is counted with status 499
/// (nginx's "client closed request") and error "aborted".
extension ClientConnection {
    /// The first byte of a request arrived.
    func noteRequestBegan() {
        reqLog.begin(now: worker.hrNow, bytesWritten: bytesWritten)
    }

    /// The upstream phase begins (pooled connection taken or a new one opened).
    func noteUpstreamStarted() {
        // Only the access log reports the phases.
        guard worker.logsAccess else { return }
        let now = worker.hrNow
        if reqLog.tokenWaitStartNs != 0 && reqLog.tokenWaitEndNs == 0 { reqLog.tokenWaitEndNs = now }
        if reqLog.upstreamStartNs == 0 { reqLog.upstreamStartNs = now }
    }

    /// The request failed because of the upstream (kept once: the first cause wins).
    func noteUpstreamError(_ kind: UpstreamErrorKind) {
        if reqLog.upstreamError == nil { reqLog.upstreamError = kind }
    }

    /// The peer address, a span of the `X-Forwarded-For: <ip>\r\n` line formatted once per
    /// connection (no string per request).
    var clientAddress: ByteSpan {
        let line = xffLine.span
        let prefix = "X-Forwarded-For: ".utf8.count
        return line.count > prefix + 2 ? line.slice(from: prefix, to: line.count - 2) : .empty
    }

    /// Called by `endRequest()` only.
    func logRequest() {
        let now = worker.hrNow
        if reqLog.startNs == 0 { reqLog.startNs = now }
        if reqLog.requestID.isEmpty { reqLog.generateID(worker.requestIDs) }
        let status = reqLog.status == 0 ? 499 : reqLog.status
        let duration = now &- reqLog.startNs
        let routeIndex = request.routeRef?._withUnsafeGuaranteedRef { $0.index }
        worker.metricsRef._withUnsafeGuaranteedRef {
            $0.record(
                routeIndex: routeIndex, status: status, seconds: Double(duration) / 1e9, upstreamError: reqLog.upstreamError,
                protocol: reqLog.http2 ? .h2 : .http1)
        }
        guard let accessLog = worker.accessLog else { return }
        var upstreamNs: UInt64? = nil
        if reqLog.upstreamStartNs != 0 {
            upstreamNs = (reqLog.upstreamHeadNs != 0 ? reqLog.upstreamHeadNs : now) &- reqLog.upstreamStartNs
        }
        var tokenWaitNs: UInt64 = 0
        if reqLog.tokenWaitStartNs != 0 {
            tokenWaitNs = (reqLog.tokenWaitEndNs != 0 ? reqLog.tokenWaitEndNs : now) &- reqLog.tokenWaitStartNs
        }
        let hasHead = head != nil
        let received = headEnd > 0 ? UInt64(headEnd) &+ request.bodyBytes : UInt64(hasHead ? headCount : 0)
        let wall = AccessLogLineBuilder.wallClock()
        var error = reqLog.errorCode
        if error == nil && reqLog.aborted { error = "aborted" }
        accessLog.append(AccessLogLineBuilder.Record(
            wallSeconds: wall.seconds, wallNanos: wall.nanos, requestID: reqLog.requestID, client: clientAddress, routeIndex: routeIndex,
            method: hasHead ? parser.method : .empty,
            version: reqLog.http2 ? .http2 : (request.http10 ? .http10 : .http11), target: hasHead ? (request.target.isEmpty ? parser.url : request.target) : .empty,
            status: status, bytesIn: received, bytesOut: bytesWritten &- reqLog.bytesWrittenAtStart,
            durationNs: duration, upstreamNs: upstreamNs, tokenWaitNs: tokenWaitNs, error: error,
            upstreamError: reqLog.upstreamError, endpoint: reqLog.endpointChosen ? reqLog.endpoint?.logLiteral.buffer : nil))
    }
}
