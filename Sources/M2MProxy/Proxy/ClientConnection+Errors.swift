/// The proxy's own answers (DESIGN.md §4 table): JSON bodies, and the connection kept or closed.
extension ClientConnection {
    func respond(_ error: ProxyError) {
        if request.responseHeadSent || isClosing {
            abort()
            return
        }
        if !request.requestActive {
            // Failed before its head was complete (400, 408, 431): still one logged request.
            request.requestActive = true
            worker.requestStarted()
        }
        reqLog.status = error.status
        reqLog.errorCode = error.code
        if let u = upstream {
            upstream = nil
            u.abandon()
        }
        stopTimer()
        // Keep the connection only when the request is fully consumed: a body still on the wire
        // would be read as the next request.
        var close = error.closesConnection || !request.keepAlive
        if !close && !request.bodyDone {
            if let head, !request.bufferedBytesProcessed && !(request.hasBody && request.expectContinue) {
                // The request may be complete in the head buffer (a small body arrived with the
                // head): consume it, and the connection stays usable for what follows.
                request.bufferedBytesProcessed = true
                processRequestBytes(head + headEnd, headCount - headEnd, fromSocket: false, forward: false)
            }
            if !request.bodyDone { close = true }
        }
        if error.status >= 500 || error.status == 400 {
            worker.logFailure("request failed: \(error.status) \(error.code): \(error.message)")
        }
        let failed: UVError?
        let stream = responseSink != nil
        if stream {
            // An HTTP/2 stream: status and JSON, or a gRPC status, handed over directly.
            answerStream(error)
            failed = nil
        } else {
            let bytes = error.responseBytes(keepAlive: !close)
            failed = bytes.withUnsafeBytes { write($0.baseAddress!, $0.count) }
        }
        // The stream's response ends once the exchange did (closed, or idle for the next one).
        defer { if stream { streamResponseEnded() } }
        if failed != nil || close {
            request.keepAlive = false
            endRequest()
            if failed != nil {
                abort()
            } else {
                // Input may still be arriving (a body not read, a head cut short): linger.
                closeWhenFlushed(linger: error.closesConnection || (request.hasBody && !request.bodyDone))
            }
            return
        }
        finishExchange()
    }
}
