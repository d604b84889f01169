internal import CLibUV

/// Reading the request head, routing it, and forwarding the request to the upstream.
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
        guard parser.httpMajor == 1 else {
            // llhttp accepts "HTTP/0.9" and "HTTP/2.0" request lines; this proxy speaks 1.x only.
            respond(.badRequest("unsupported HTTP version"))
            return
        }
        http10 = parser.httpMinor == 0
        requestsServed += 1
        let limit = worker.limits.maxRequestsPerConnection
        keepAlive = parser.shouldKeepAlive && !worker.isDraining && (limit == 0 || requestsServed < limit)
        let method = parser.methodCode
        methodCode = method
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
        // llhttp flags Transfer-Encoding only for a non-empty value; an empty or blank one next to
        // a Content-Length would reach an upstream that may let it win (smuggling): any TE line
        // counts here.
        let teLines = Self.transferEncodingLines(parser, count: parser.headerCount)
        if teLines > 0 && http10 {
            // RFC 9112 §6.1: chunked framing from an HTTP/1.0 client is faulty.
            respond(.badRequest("Transfer-Encoding in an HTTP/1.0 request"))
            return
        }
        if teLines > 0 && !Self.isPlainChunked(parser, count: parser.headerCount) {
            // llhttp accepts "identity, chunked", repeated TE lines, ...; an upstream may read
            // them differently (smuggling). Only one plain `chunked` is forwarded (nginx: 501).
            respond(.badRequest("Transfer-Encoding must be exactly one \"chunked\""))
            return
        }
        if parser.hasContentLength && parser.contentLength > UInt64(worker.limits.maxBodyBytes) {
            respond(.bodyTooLarge)
            return
        }

        // One pass over the headers: classify, and pick out what routing and forwarding need.
        var hostCount = 0
        var hostValue = ByteSpan.empty
        // Chunked trailers are appended to the parser's header list later: remember where the
        // head's own headers end.
        requestHeaderCount = parser.headerCount
        for i in 0..<requestHeaderCount {
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
        noteRequestHead()
        if hostCount > 1 {
            respond(.badRequest("more than one Host header"))
            return
        }
        if connectionTokens.overflow {
            respond(.badRequest("too many Connection options"))
            return
        }
        hostHeader = hostValue

        // RFC 9110 §7.8: Upgrade only counts when Connection lists it too.
        upgradeRequested = upgradeRequested && connectionTokens.upgrade && !http10
        guard splitTarget(hostValue: hostValue) else { return }
        if !http10 && hostCount == 0 && !absoluteForm {
            respond(.badRequest("missing Host header"))
            return
        }

        let path = target.slice(from: 0, to: target.firstIndex(of: UInt8(ascii: "?")))
        if hasDotSegment(path) {
            // A "/products/../admin" (or "/products/%2e%2e/admin") must not ride on the
            // /products route's token.
            respond(.badRequest("path contains a dot-segment"))
            return
        }
        if hasBody {
            // Body bytes wait in the kernel until the request can be forwarded: the head buffer
            // only ever holds the head plus what arrived with it (bounded), and backpressure
            // reaches the client through TCP.
            stopReading()
        }
        let host = Router.hostWithoutPort(authority)
        guard let ref = worker.routerRef!._withUnsafeGuaranteedRef({ $0.matchRef(host: host, path: path, method: method) }) else {
            respond(.noRoute)
            return
        }
        routeRef = ref
        if worker.hasAccessControl && !clientAllowed(ref.takeUnretainedValue()) {
            respond(.forbidden)
            return
        }
        if let slot = ref._withUnsafeGuaranteedRef({ $0.tokenSlot }) {
            awaitToken(slot: slot)
        } else {
            connectUpstream()
        }
    }

    /// Proceeds with a valid token, parks until the cache has one, or fails.
    func awaitToken(slot: Int) {
        switch worker.tokensRef._withUnsafeGuaranteedRef({ $0.acquire(slot: slot, for: self, now: worker.now) }) {
        case .ready:
            connectUpstream()
        case .parked:
            if reqLog.tokenWaitStartNs == 0 { reqLog.tokenWaitStartNs = worker.hrNow }
            state = .waitingToken
            // One token_wait_ms per request, however many times it parks (a 401 replay, a token
            // that expired before the head was sent).
            let now = worker.now
            if tokenWaitDeadline == 0 { tokenWaitDeadline = now + UInt64(worker.limits.tokenWaitMs) }
            startTimer(ms: tokenWaitDeadline > now ? Int(tokenWaitDeadline - now) : 1)
        }
    }

    /// `server.allow_cidrs` and the route's `allow_cidrs` must both let the client in. Behind a
    /// trusted proxy the client is the rightmost X-Forwarded-For address that is not itself a
    /// trusted proxy (the leftmost ones are whatever the client claimed).
    private func clientAllowed(_ r: CompiledRoute) -> Bool {
        let server = worker.config.server
        var client: IPAddress? = peer
        if !server.trustedProxies.isEmpty && server.trustedProxies.allows(peer) && xffCount > 0 {
            // Rare configuration: building strings here is acceptable.
            var list: [String] = []
            for i in 0..<requestHeaderCount where kinds[i] == .xForwardedFor {
                list += parser.headers[i].value.makeString().split(separator: ",").map { String($0).trimmingASCIIWhitespace() }
            }
            client = nil
            for entry in list.reversed() {
                guard let a = IPAddress.parse(entry) else { break }
                client = a
                if !server.trustedProxies.allows(a) { break }
            }
        }
        guard let client else { return false }
        if let allow = server.allowCIDRs, !allow.allows(client) { return false }
        if let allow = r.config.allowCIDRs, !allow.allows(client) { return false }
        return true
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

    /// True for a `.` or `..` segment, also percent-encoded (`%2e`, RFC 3986 §2.3) and with
    /// `%2f` or `\` as separators, which some upstreams decode or accept before resolving.
    private func hasDotSegment(_ path: ByteSpan) -> Bool {
        // Fast path: most paths contain none of the bytes a dot-segment needs.
        if !path.containsEither(UInt8(ascii: "."), UInt8(ascii: "%")) { return false }
        var dots = 0
        var other = false
        var params = false
        var i = 0
        let n = path.count
        while i <= n {
            var separator = i == n
            var width = 1
            var isDot = false
            if !separator {
                let c = path[i]
                if c == UInt8(ascii: "/") || c == UInt8(ascii: "\\") {
                    separator = true
                } else if c == UInt8(ascii: ".") {
                    isDot = true
                } else if c == UInt8(ascii: "%"), i + 2 < n, path[i + 1] == UInt8(ascii: "2") {
                    let d = path[i + 2] | 0x20
                    if d == UInt8(ascii: "e") { isDot = true; width = 3 }
                    if d == UInt8(ascii: "f") { separator = true; width = 3 }
                } else if c == UInt8(ascii: "%"), i + 2 < n, path[i + 1] == UInt8(ascii: "5"), path[i + 2] | 0x20 == UInt8(ascii: "c") {
                    separator = true
                    width = 3
                } else if c == UInt8(ascii: ";") {
                    // Path parameters ("..;x", as Tomcat and Spring read them) end the segment's name.
                    params = true
                }
            }
            if separator {
                if !other && (dots == 1 || dots == 2) { return true }
                dots = 0
                other = false
                params = false
            } else if params {
                // ignored until the next separator
            } else if isDot {
                dots += 1
            } else {
                other = true
            }
            i += width
        }
        return false
    }

    /// `avoid`: the endpoint of a failed attempt (failover takes another one when it can).
    func connectUpstream(avoid: UpstreamPool? = nil) {
        guard let routeRef else { return }
        noteUpstreamStarted()
        let slot = routeRef._withUnsafeGuaranteedRef { $0.upstreamSlot }
        let pool = selectEndpoint(slot, avoid: avoid)
        if let c = pool.takeIdle() {
            upstream = c
            c.attach(self)
            sendRequest()
        } else if pool.isAtLimit {
            state = .waitingUpstream
            pool.enqueue(self)
            startTimer(ms: worker.limits.connectTimeoutMs)
        } else {
            let c = pool.makeConnection()
            upstream = c
            state = .connectingUpstream
            c.open(for: self, budgetMs: connectBudgetMs)
        }
    }

    /// The pool hands over a connection that just finished another exchange. False when this
    /// client no longer waits (the pool then offers it to the next one).
    func upstreamGranted(_ c: UpstreamConnection) -> Bool {
        guard state == .waitingUpstream, !isClosing else { return false }
        stopTimer()
        upstream = c
        c.attach(self)
        sendRequest()
        return true
    }

    /// A connection of the pool closed: there is room to open one.
    func upstreamSlotFreed() -> Bool {
        guard state == .waitingUpstream, !isClosing else { return false }
        stopTimer()
        connectUpstream()
        return true
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
        guard isUpstream(c), state == .connectingUpstream else { return }
        sendRequest()
    }

    func upstreamFailed(_ c: UpstreamConnection, _ error: ProxyError) {
        guard isUpstream(c) else { return }
        upstream = nil
        if failOver(from: c) { return }
        noteUpstreamError(c.failureKind)
        respond(error)
    }

    func upstreamWriteFailed(_ c: UpstreamConnection, _ error: UVError) {
        guard isUpstream(c) else { return }
        upstreamLost(c, error)
    }

    func upstreamWriteDrained(_ c: UpstreamConnection) {
        guard isUpstream(c), clientPausedForUpstream, c.writeQueueSize <= Worker.lowWater else { return }
        clientPausedForUpstream = false
        startReading()
    }

    /// The upstream closed or reset the connection mid-exchange.
    func upstreamLost(_ c: UpstreamConnection, _ error: UVError) {
        guard isUpstream(c) else { return }
        upstream = nil
        if !c.isReused && !c.receivedResponseBytes { c.pool.noteFailure() }
        c.abandon()
        // The upstream may close a pooled connection while it sits idle, and our request can cross
        // its FIN. One retry on a fresh connection is safe when nothing of the request can have
        // been acted on: nothing was sent, or the method is idempotent (RFC 9110 §9.2.2); and
        // every byte to re-send is still held (no body bytes streamed from the socket).
        let unsent = !requestBytesSent || Self.isIdempotent(methodCode)
        if !responseHeadSent && !c.receivedResponseBytes && c.isReused && !bodyFromSocket && !retried && unsent {
            retried = true
            // Body bytes must wait in the kernel while the new connection is set up.
            if hasBody && !bodyDone { stopReading() }
            // Preferably on another endpoint: this one may have just restarted.
            let pool = selectEndpoint(route!.upstreamSlot, avoid: c.pool)
            let fresh = pool.makeConnection()
            upstream = fresh
            state = .connectingUpstream
            fresh.open(for: self, budgetMs: worker.limits.connectTimeoutMs)
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

    static func transferEncodingLines(_ p: HTTPParser, count: Int) -> Int {
        var n = 0
        for i in 0..<count where p.headers[i].name.equalsLowercase("transfer-encoding") { n += 1 }
        return n
    }

    /// Exactly one Transfer-Encoding header whose value is `chunked`.
    static func isPlainChunked(_ p: HTTPParser, count: Int) -> Bool {
        var seen = 0
        for i in 0..<count where p.headers[i].name.equalsLowercase("transfer-encoding") {
            seen += 1
            if !p.headers[i].value.trimmed().equalsLowercase("chunked") { return false }
        }
        return seen == 1
    }

    /// GET, HEAD, PUT, DELETE, OPTIONS, TRACE (llhttp method codes).
    static func isIdempotent(_ code: Int) -> Bool {
        code == 0 || code == 1 || code == 2 || code == 4 || code == 6 || code == 7
    }

    // MARK: forwarding the request

    /// Writes the request head (and any body bytes already buffered) to the upstream.
    func sendRequest() {
        guard let routeRef, let upstreamRef, let head else { return }
        // Borrowed: the route lives with its router, the upstream connection with its handles.
        routeRef._withUnsafeGuaranteedRef { route in
            upstreamRef._withUnsafeGuaranteedRef { u in sendRequest(route: route, upstream: u, head: head) }
        }
    }

    private func sendRequest(route: CompiledRoute, upstream u: UpstreamConnection, head: UnsafeMutableRawPointer) {
        state = .forwarding
        var tokenLine = ByteSpan.empty
        if let slot = route.tokenSlot {
            guard let held = worker.tokensRef._withUnsafeGuaranteedRef({ $0.headerLine(slot: slot, now: worker.now) }) else {
                // The token reached exp - margin while the upstream connection was being set up:
                // nothing is sent yet, so give the connection back and wait for a fresh token.
                upstream = nil
                if u.isReusableUnused { u.pool.release(u) } else { u.abandon() }
                awaitToken(slot: slot)
                return
            }
            tokenLine = held.line
            sentToken = held.token
        }
        let headerCount = requestHeaderCount
        let failed: UVError? = worker.staticsRef._withUnsafeGuaranteedRef { s in
            withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: 20 + headerCount + 2 * xffCount) { storage in
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
                    iov.append(u.pool.hostLine)
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
                    case .xRequestID where reqLog.replacesClientID:
                        continue
                    case .upgrade where upgradeRequested:
                        break
                    default:
                        if kind.isHopByHop || (kind.isNominatable && connectionTokens.names(parser.headers[i].name)) { continue }
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
                let forwardedHost = hostHeader.isEmpty ? authority : hostHeader
                if !forwardedHost.isEmpty {
                    iov.append(s.xfhPrefix)
                    iov.append(forwardedHost)
                    iov.append(s.crlf)
                }
                if let line = reqLog.forwardedLine { iov.append(line) }
                iov.append(isTLS ? s.headTailTLS : s.headTail)
                // A retry re-sends the body bytes that had been forwarded out of the head buffer.
                if bufferedBytesProcessed && forwardedFromHead > headEnd {
                    iov.append(head + headEnd, forwardedFromHead - headEnd)
                }
                return u.write(iov)
            }
        }
        if let failed {
            upstreamLost(u, failed)
            return
        }
        requestBytesSent = true
        u.startTimer(ms: worker.limits.responseTimeoutMs)
        if bufferedBytesProcessed {
            // A retry: the parser already consumed what the head buffer held (re-sent above as
            // bytes); the rest of the body, if any, still comes from the socket.
            if !bodyDone {
                if headCount > forwardedFromHead {
                    processRequestBytes(head + forwardedFromHead, headCount - forwardedFromHead, fromSocket: false, forward: true)
                } else {
                    startReading()
                    startTimer(ms: worker.limits.bodyTimeoutMs)
                }
            }
            return
        }
        bufferedBytesProcessed = true
        forwardedFromHead = headEnd
        if hasBody && expectContinue && !http10 {
            let line = worker.statics.continue100
            write(line.base, line.count)
        }
        processRequestBytes(head + headEnd, headCount - headEnd, fromSocket: false, forward: true)
    }

    /// Runs request bytes after the head through the parser: body bytes are forwarded as they
    /// are (Content-Length or chunked framing kept, validated by llhttp), the end of the message
    /// is found, and whatever follows it is kept as the next pipelined request.
    func processRequestBytes(_ base: UnsafeRawPointer, _ count: Int, fromSocket: Bool, forward: Bool) {
        let event = parser.execute(base, count)
        // Only this message's bytes count (pipelined requests may follow it in the same read).
        if case .messageComplete(let n) = event {
            bodyBytes &+= UInt64(n)
        } else {
            bodyBytes &+= UInt64(count)
        }
        if parser.isChunked && bodyBytes > parser.bodyBytes &+ parser.chunkFramingAllowance {
            // Chunk-size lines (leading zeros), extensions and trailers are forwarded raw and
            // llhttp does not bound their length: a body may not carry more framing than a
            // generous allowance per chunk.
            keepAlive = false
            respond(.badRequest("chunked framing too large"))
            return
        }
        switch event {
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
                    // Pipelined bytes from the loop's read buffer: keep them after what the head
                    // buffer must still hold (the head, plus forwarded body bytes while a retry
                    // could re-send them). Reading was stopped during the request whenever it
                    // had a body, so that region is at most the head plus one read and `rest`
                    // (at most one read) fits: capacity is max_header_bytes + 2 reads.
                    let at = bodyFromSocket ? headEnd : max(headEnd, forwardedFromHead)
                    precondition(at + rest <= worker.headBufferCapacity, "head buffer overflow")
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
        case .error(.forbiddenTrailer):
            // Trailers are forwarded as raw bytes: a client must not smuggle an Authorization
            // (on a token route), Host or framing field into them. The read holding the name's
            // end is not forwarded; the upstream connection is dropped with the request.
            keepAlive = false
            if responseHeadSent { abort() } else { respond(.badRequest("forbidden field in chunked trailer")) }
        case .error(let e):
            if responseHeadSent {
                abort()
            } else {
                keepAlive = false
                respond(.badRequest("malformed request body: \(malformedName(e))"))
            }
        }
    }

    /// Trailer names refused by the request parser (see `HTTPParser.isForbiddenTrailer`).
    static func isForbiddenTrailerName(_ name: ByteSpan) -> Bool {
        switch HeaderKind.classify(name) {
        case .authorization, .proxyAuthorization, .host, .contentLength, .transferEncoding, .connection:
            return true
        default:
            return false
        }
    }

    private func malformedName(_ e: ParseError) -> String {
        if case .invalid(let code) = e { return HTTPParser.errorName(code) }
        return "invalid"
    }

    /// Copies body bytes from the socket into the head buffer while the whole body stays within
    /// `limits.replay_body_bytes`, so that the request can still be sent again (after an upstream
    /// `401 invalid_token`, or on a fresh connection when a pooled one closed under it). Past
    /// that the body is only streamed (`bodyFromSocket`), and the request can no longer be replayed.
    private func keepForReplay(_ base: UnsafeRawPointer, _ count: Int) {
        guard !bodyFromSocket, let head else { return }
        let start = max(forwardedFromHead, headEnd)
        // The room left must still take one read of pipelined bytes after the body.
        if start - headEnd + count <= worker.limits.replayBodyBytes
            && start + count <= worker.headBufferCapacity - worker.readBufferSize {
            (head + start).copyMemory(from: base, byteCount: count)
            forwardedFromHead = start + count
            headCount = max(headCount, forwardedFromHead)
        } else {
            bodyFromSocket = true
        }
    }

    private func forwardBody(_ base: UnsafeRawPointer, _ count: Int, fromSocket: Bool, forward: Bool) {
        if !fromSocket, let head { forwardedFromHead = (base + count) - UnsafeRawPointer(head) }
        guard forward, let u = upstream else { return }
        if fromSocket { keepForReplay(base, count) }
        if parser.isChunked && parser.bodyBytes > UInt64(worker.limits.maxBodyBytes) {
            // Chunked bodies have no declared size: stop at the limit (decoded bytes count).
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
