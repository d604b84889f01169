internal import CLibUV

/// Reading the request head, routing it, and forwarding the request to the upstream.
extension ClientConnection {
    func appendHead(_ data: UnsafeRawBufferPointer) {
        if head == nil { head = worker.pool.takeHeadBuffer() }
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
            if headCount > limit { respond(.headerTooLarge) }
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
            if e.isHeaderOverflow {
                respond(.headerTooLarge)
            } else {
                respond(.badRequest(malformedMessage(e)))
            }
        }
    }

    private func malformedMessage(_ e: ParseError) -> String {
        guard case .invalid(let code) = e else { return "malformed request" }
        let reason = parser.errorReason
        return "malformed request: \(HTTPParser.errorName(code))\(reason.isEmpty ? "" : " (\(reason))")"
    }

    /// The head is complete: decide what to do with the request.
    private func beginRequest() {
        stopTimer()
        requestActive = true
        worker.requestStarted()
        http10 = parser.httpMinor == 0
        keepAlive = parser.shouldKeepAlive
        let method = parser.methodCode
        isHEAD = method == HTTPParser.methodHEAD
        hasBody = parser.isChunked || (parser.hasContentLength && parser.contentLength > 0)
        bodyDone = false
        if method == HTTPParser.methodCONNECT {
            respond(.badRequest("CONNECT is not supported"))
            return
        }
        if parser.hasTransferEncoding && !parser.isChunked {
            // RFC 9112 §6.3: a request whose final coding is not chunked has no reliable length.
            // Refused before anything reaches an upstream.
            respond(.badRequest("Transfer-Encoding other than chunked"))
            return
        }
        if parser.hasContentLength && parser.contentLength > UInt64(worker.limits.maxBodyBytes) {
            respond(.bodyTooLarge)
            return
        }

        // One pass over the headers: classify, and pick out what routing and forwarding need.
        var hostCount = 0
        var hostValue = ByteSpan.empty
        for i in 0..<parser.headerCount {
            let h = parser.headers[i]
            let kind = HeaderKind.classify(h.name)
            kinds[i] = kind
            switch kind {
            case .host:
                hostCount += 1
                hostValue = h.value.trimmed()
            case .connection:
                connectionTokens.add(value: h.value)
            case .expect:
                if h.value.trimmed().equalsLowercase("100-continue") { expectContinue = true }
            case .xForwardedFor:
                xffCount += 1
            case .upgrade:
                upgradeRequested = true
            default:
                break
            }
        }
        if hostCount > 1 {
            respond(.badRequest("more than one Host header"))
            return
        }

        // RFC 9110 §7.8: Upgrade only counts when Connection lists it too.
        upgradeRequested = upgradeRequested && connectionTokens.upgrade && !http10
        guard splitTarget(hostValue: hostValue) else { return }
        if !http10 && hostCount == 0 && !absoluteForm {
            respond(.badRequest("missing Host header"))
            return
        }

        var path = target
        for i in 0..<target.count where target[i] == UInt8(ascii: "?") {
            path = target.slice(from: 0, to: i)
            break
        }
        if hasDotSegment(path) {
            // A "/products/../admin" must not ride on the /products route's token.
            respond(.badRequest("path contains a dot-segment"))
            return
        }
        guard let r = worker.router.match(host: Router.hostWithoutPort(authority), path: path, method: method) else {
            respond(.noRoute)
            return
        }
        route = r
        if let slot = r.tokenSlot {
            switch worker.tokenCache.acquire(slot: slot, for: self) {
            case .ready:
                break
            case .parked:
                state = .waitingToken
                startTimer(ms: worker.limits.tokenWaitMs)
                return
            case .failed(let error):
                respond(error)
                return
            }
        }
        connectUpstream()
    }

    /// Origin-form or absolute-form target → `target` (path+query) and `authority`.
    private func splitTarget(hostValue: ByteSpan) -> Bool {
        let url = parser.url
        authority = hostValue
        guard url.count > 0 else {
            respond(.badRequest("empty request target"))
            return false
        }
        if url[0] == UInt8(ascii: "/") {
            target = url
            return true
        }
        // absolute-form, as sent by clients that use the proxy as http_proxy.
        var i = 0
        while i < url.count, url[i] != UInt8(ascii: ":") { i += 1 }
        let scheme = url.slice(from: 0, to: i)
        guard i + 2 < url.count, url[i + 1] == UInt8(ascii: "/"), url[i + 2] == UInt8(ascii: "/"),
            scheme.equalsLowercase("http") || scheme.equalsLowercase("https")
        else {
            respond(.badRequest("request target must be origin-form or absolute-form"))
            return false
        }
        let authStart = i + 3
        var j = authStart
        while j < url.count, url[j] != UInt8(ascii: "/"), url[j] != UInt8(ascii: "?") { j += 1 }
        // RFC 9112 §3.2.2: the absolute-form authority replaces the Host header.
        authority = url.slice(from: authStart, to: j)
        absoluteForm = true
        if j == url.count {
            target = worker.statics.slash.span
        } else if url[j] == UInt8(ascii: "?") {
            // "http://h?q" → "/?q": forward the slash and the query as two pieces.
            target = url.slice(from: j, to: url.count)
            absoluteQueryOnly = true
        } else {
            target = url.slice(from: j, to: url.count)
        }
        return true
    }

    private func hasDotSegment(_ path: ByteSpan) -> Bool {
        var segStart = 0
        for i in 0...path.count {
            if i == path.count || path[i] == UInt8(ascii: "/") {
                let len = i - segStart
                if (len == 1 && path[segStart] == UInt8(ascii: ".")) ||
                    (len == 2 && path[segStart] == UInt8(ascii: ".") && path[segStart + 1] == UInt8(ascii: ".")) {
                    return true
                }
                segStart = i + 1
            }
        }
        return false
    }

    private func connectUpstream() {
        guard let route else { return }
        let pool = worker.upstreamPools[route.upstreamSlot]
        if let c = pool.takeIdle() {
            upstream = c
            c.attach(self)
            sendRequest()
        } else {
            let c = pool.makeConnection()
            upstream = c
            state = .connectingUpstream
            c.open(for: self)
        }
    }

    // MARK: token cache callbacks

    func tokenReady() {
        guard state == .waitingToken else { return }
        stopTimer()
        connectUpstream()
    }

    func tokenFailed(_ error: ProxyError) {
        guard state == .waitingToken else { return }
        stopTimer()
        respond(error)
    }

    // MARK: upstream connection callbacks (before the response)

    func upstreamReady(_ c: UpstreamConnection) {
        guard c === upstream, state == .connectingUpstream else { return }
        sendRequest()
    }

    func upstreamFailed(_ c: UpstreamConnection, _ error: ProxyError) {
        guard c === upstream else { return }
        upstream = nil
        respond(error)
    }

    func upstreamWriteFailed(_ c: UpstreamConnection, _ error: UVError) {
        guard c === upstream else { return }
        upstreamLost(c, error)
    }

    func upstreamWriteDrained(_ c: UpstreamConnection) {
        guard c === upstream, clientPausedForUpstream, c.writeQueueSize <= Worker.lowWater else { return }
        clientPausedForUpstream = false
        startReading()
    }

    /// The upstream closed or reset the connection mid-exchange.
    func upstreamLost(_ c: UpstreamConnection, _ error: UVError) {
        guard c === upstream else { return }
        upstream = nil
        c.abandon()
        if !responseHeadSent && !c.receivedResponseBytes && c.isReused && !bodyFromSocket && !retried {
            // The upstream closed a pooled connection while it sat idle and our request crossed
            // its FIN: nothing reached the application, so one retry on a fresh connection is safe.
            retried = true
            let pool = worker.upstreamPools[route!.upstreamSlot]
            let fresh = pool.makeConnection()
            upstream = fresh
            state = .connectingUpstream
            fresh.open(for: self)
            return
        }
        if responseHeadSent {
            abort()
        } else {
            let what = error == .eof ? "upstream closed the connection before responding"
                : "upstream connection failed before responding: \(error.message)"
            respond(.upstreamUnavailable(what))
        }
    }

    // MARK: forwarding the request

    /// Writes the request head (and any body bytes already buffered) to the upstream.
    func sendRequest() {
        guard let route, let u = upstream, let head else { return }
        state = .forwarding
        var tokenLine = ByteSpan.empty
        if let slot = route.tokenSlot {
            guard let line = worker.tokenCache.headerLine(slot: slot) else {
                respond(worker.tokenCache.unavailableError(slot: slot))
                return
            }
            tokenLine = line
        }
        let s = worker.statics
        let headerCount = parser.headerCount
        let failed: UVError? = withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: 16 + headerCount + 2 * xffCount) { storage in
            var iov = IOVecList(storage: storage)
            iov.append(parser.method)
            iov.append(s.space)
            iov.append(route.basePath)
            if absoluteQueryOnly { iov.append(s.slash) }
            iov.append(target)
            iov.append(s.requestLineEnd)
            if route.config.preserveHost {
                iov.append(s.hostPrefix)
                iov.append(authority)
                iov.append(s.crlf)
            } else {
                iov.append(route.hostLine)
            }
            let injecting = route.tokenSlot != nil
            let lastLineEnd = head + headEnd - 2
            for i in 0..<headerCount {
                let kind = kinds[i]
                switch kind {
                case .host, .xForwardedFor, .xForwardedHost, .xForwardedProto, .expect:
                    continue
                case .authorization where injecting:
                    continue
                case .upgrade where upgradeRequested:
                    break
                default:
                    if kind.isHopByHop || connectionTokens.names(parser.headers[i].name) { continue }
                }
                let start = parser.headers[i].name.base
                let end = i + 1 < headerCount ? parser.headers[i + 1].name.base : UnsafeRawPointer(lastLineEnd)
                iov.append(start, end - start)
            }
            if injecting { iov.append(tokenLine) }
            if upgradeRequested { iov.append(s.connectionUpgrade) }
            if xffCount > 0 {
                // Append the client's address to the list it sent (all its X-Forwarded-For lines).
                iov.append(s.xffPrefix)
                var first = true
                for i in 0..<headerCount where kinds[i] == .xForwardedFor {
                    if !first { iov.append(s.commaSpace) }
                    iov.append(parser.headers[i].value.trimmed())
                    first = false
                }
                iov.append(xffSuffix)
            } else {
                iov.append(xffLine)
            }
            if !authority.isEmpty {
                iov.append(s.xfhPrefix)
                iov.append(authority)
                iov.append(s.crlf)
            }
            iov.append(s.headTail)
            // A retry re-sends the body bytes that had been forwarded out of the head buffer.
            if retried && forwardedFromHead > headEnd {
                iov.append(head + headEnd, forwardedFromHead - headEnd)
            }
            return u.write(iov)
        }
        if let failed {
            upstreamLost(u, failed)
            return
        }
        u.startTimer(ms: worker.limits.responseTimeoutMs)
        if retried {
            // The parser already consumed what the head buffer held (re-sent above as bytes);
            // the rest of the body, if any, still comes from the socket.
            if !bodyDone { startReading(); startTimer(ms: worker.limits.bodyTimeoutMs) }
            return
        }
        if hasBody && expectContinue && !http10 {
            write(s.continue100.base, s.continue100.count)
        }
        processRequestBytes(head + headEnd, headCount - headEnd, fromSocket: false, forward: true)
    }

    /// Runs request bytes after the head through the parser: body bytes are forwarded as they
    /// are (Content-Length or chunked framing kept, validated by llhttp), the end of the message
    /// is found, and whatever follows it is kept as the next pipelined request.
    func processRequestBytes(_ base: UnsafeRawPointer, _ count: Int, fromSocket: Bool, forward: Bool) {
        switch parser.execute(base, count) {
        case .needMore:
            if count > 0 { forwardBody(base, count, fromSocket: fromSocket, forward: forward) }
            if state == .forwarding || !forward {
                if !clientPausedForUpstream { startReading() }
                startTimer(ms: worker.limits.bodyTimeoutMs)
            }
        case .messageComplete(let n):
            parser.resume()
            if n > 0 { forwardBody(base, n, fromSocket: fromSocket, forward: forward) }
            bodyDone = true
            if state == .forwarding { stopTimer() }
            let rest = count - n
            if rest > 0, let head {
                if fromSocket {
                    // Pipelined bytes from the loop's read buffer: keep them after the head.
                    let at = max(headEnd, forwardedFromHead)
                    (head + at).copyMemory(from: base + n, byteCount: rest)
                    nextStart = at
                    headCount = at + rest
                } else {
                    nextStart = (base + n) - UnsafeRawPointer(head)
                }
            } else if !fromSocket {
                nextStart = -1
            }
        case .headersComplete:
            abort()
        case .error(let e):
            if responseHeadSent {
                abort()
            } else {
                keepAlive = false
                respond(.badRequest("malformed request body: \(malformedName(e))"))
            }
        }
    }

    private func malformedName(_ e: ParseError) -> String {
        if case .invalid(let code) = e { return HTTPParser.errorName(code) }
        return "invalid"
    }

    private func forwardBody(_ base: UnsafeRawPointer, _ count: Int, fromSocket: Bool, forward: Bool) {
        bodyBytes += UInt64(count)
        if !fromSocket, let head { forwardedFromHead = (base + count) - UnsafeRawPointer(head) }
        guard forward, let u = upstream else { return }
        if fromSocket { bodyFromSocket = true }
        if bodyBytes > UInt64(worker.limits.maxBodyBytes) + 64 && parser.isChunked {
            // Chunked bodies have no declared size: stop at the limit (framing bytes allowed for).
            keepAlive = false
            respond(.bodyTooLarge)
            return
        }
        if let err = u.write(base, count) {
            upstreamLost(u, err)
            return
        }
        u.startTimer(ms: worker.limits.responseTimeoutMs)
        if u.writeQueueSize > Worker.highWater {
            // Backpressure: stop reading the client until the upstream drains.
            clientPausedForUpstream = true
            stopReading()
        }
    }
}
