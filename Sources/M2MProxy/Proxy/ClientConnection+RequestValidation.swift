/// Request validation, the first phase (STYLE.md §6), as far as it is the connection's: the
/// head is parsed in the head buffer (431 when too large, 400 when malformed), the version is
/// HTTP/1.x, and keep-alive is decided. Then the driver runs `requestFilter`
/// (`ReverseProxyPhases+RequestValidation`: framing, method, Host, target, dot-segments; then
/// route selection).
extension ClientConnection {
    func appendHead(_ data: UnsafeRawBufferPointer) {
        if head == nil { takeHead() }
        guard headCount + data.count <= worker.headBufferCapacity else {
            respond(.headerTooLarge)
            return
        }
        (head! + headCount).copyMemory(from: data.baseAddress!, byteCount: data.count)
        headCount += data.count
        parseHead()
    }

    func parseHead() {
        guard let head else { return }
        let limit = worker.limits.maxHeaderBytes
        switch parser.execute(head + headParsed, headCount - headParsed) {
        case .needMore:
            headParsed = headCount
            if headCount > limit {
                respond(.headerTooLarge)
            } else if clientEOF {
                // Half-closed with an incomplete request left: nothing more will come.
                close()
            }
        case .headersComplete(let n):
            headEnd = headParsed + n
            headParsed = headEnd
            parser.resume()
            if headEnd > limit {
                respond(.headerTooLarge)
                return
            }
            beginRequest()
        case .messageComplete:
            respond(.badRequest("malformed request"))
        case .error(let e):
            if e.isHTTP2Preface && requestsServed == 0 && !reqLog.http2 {
                startHTTP2()
            } else if e.isHeaderOverflow {
                respond(.headerTooLarge)
            } else {
                respond(.badRequest(malformedMessage(e)))
            }
        }
    }

    func malformedMessage(_ e: ParseError) -> String {
        guard case .invalid(let code) = e else { return "malformed request" }
        let name = HTTPParser.errorName(code)
        if name == "HPE_PAUSED_H2_UPGRADE" {
            // The HTTP/2 connection preface after HTTP/1.1 requests on this connection: HTTP/2
            // prior knowledge must start a connection (a preface first is served as HTTP/2).
            return "HTTP/2 must start a new connection (prior knowledge); this one already spoke HTTP/1.1"
        }
        let reason = parser.errorReason
        return "malformed request: \(HTTPParser.errorName(code))\(reason.isEmpty ? "" : " (\(reason))")"
    }

    /// The head is complete: decide what to do with the request.
    func beginRequest() {
        stopTimer()
        request.requestActive = true
        worker.requestStarted()
        guard parser.httpMajor == 1 else {
            // llhttp accepts "HTTP/0.9" and "HTTP/2.0" request lines; this proxy speaks 1.x only.
            respond(.badRequest("unsupported HTTP version"))
            return
        }
        request.http10 = parser.httpMinor == 0
        requestsServed += 1
        let limit = worker.limits.maxRequestsPerConnection
        request.keepAlive = parser.shouldKeepAlive && !worker.isDraining && (limit == 0 || requestsServed < limit)
        driver.requestHeadComplete(self, RequestHead(parser: parser, kinds: kinds), worker)
    }

    func malformedName(_ e: ParseError) -> String {
        if case .invalid(let code) = e { return HTTPParser.errorName(code) }
        return "invalid"
    }
}
