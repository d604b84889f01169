/// Request validation, the first phase (STYLE.md §6): the head is parsed and checked before
/// anything else happens: framing (RFC 9112 §6.3), version, method, Host, target form and
/// dot-segments. A request that fails here is answered 400/413/431 and never routed.
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

    /// A declared Content-Length over max_body_bytes, refused before anything is forwarded
    /// (checked at routing, so the 413 is counted under the route it matched).
    var declaredBodyTooLarge: Bool {
        parser.hasContentLength && parser.contentLength > UInt64(worker.limits.maxBodyBytes)
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
        let method = parser.methodCode
        request.methodCode = method
        request.isHEAD = method == HTTPParser.methodHEAD
        request.hasBody = parser.isChunked || (parser.hasContentLength && parser.contentLength > 0)
        request.bodyDone = false
        if method == HTTPParser.methodCONNECT {
            respond(.methodNotAllowed("tunnels are not supported; send http:// URLs through this proxy"))
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
        let teLines = RequestValidation.transferEncodingLines(parser, count: parser.headerCount)
        if teLines > 0 && request.http10 {
            // RFC 9112 §6.1: chunked framing from an HTTP/1.0 client is faulty.
            respond(.badRequest("Transfer-Encoding in an HTTP/1.0 request"))
            return
        }
        if teLines > 0 && !RequestValidation.isPlainChunked(parser, count: parser.headerCount) {
            // llhttp accepts "identity, chunked", repeated TE lines, ...; an upstream may read
            // them differently (smuggling). Only one plain `chunked` is forwarded (nginx: 501).
            respond(.badRequest("Transfer-Encoding must be exactly one \"chunked\""))
            return
        }

        // One pass over the headers: classify, and pick out what routing and forwarding need.
        var hostCount = 0
        var hostValue = ByteSpan.empty
        // Chunked trailers are appended to the parser's header list later: remember where the
        // head's own headers end.
        request.requestHeaderCount = parser.headerCount
        for i in 0..<request.requestHeaderCount {
            let h = parser.headers[i]
            let kind = HeaderKind.classify(h.name)
            kinds[i] = kind
            switch kind {
            case .host:
                hostCount += 1
                hostValue = h.value.trimmed()
            case .connection:
                request.connectionTokens.add(value: h.value)
            case .expect:
                if h.value.trimmed().equalsLowercase("100-continue") { request.expectContinue = true }
            case .xForwardedFor:
                request.xffCount += 1
            case .upgrade:
                request.upgradeRequested = true
            case .other:
                if h.name.firstIndex(of: UInt8(ascii: "_")) < h.name.count {
                    guard admitUnderscoreHeader(i) else { return }
                }
            default:
                break
            }
        }
        noteRequestHead()
        if hostCount > 1 {
            respond(.badRequest("more than one Host header"))
            return
        }
        if request.connectionTokens.overflow {
            respond(.badRequest("too many Connection options"))
            return
        }
        request.hostHeader = hostValue

        // RFC 9110 §7.8: Upgrade only counts when Connection lists it too.
        request.upgradeRequested = request.upgradeRequested && request.connectionTokens.upgrade && !request.http10
        guard splitTarget(hostValue: hostValue) else { return }
        if !request.http10 && hostCount == 0 && !request.absoluteForm {
            respond(.badRequest("missing Host header"))
            return
        }

        let path = request.target.slice(from: 0, to: request.target.firstIndex(of: UInt8(ascii: "?")))
        if RequestValidation.hasDotSegment(path) {
            // A "/products/../admin" (or "/products/%2e%2e/admin") must not ride on the
            // /products route's token.
            respond(.badRequest("path contains a dot-segment"))
            return
        }
        if request.hasBody {
            // Body bytes wait in the kernel until the request can be forwarded: the head buffer
            // only ever holds the head plus what arrived with it (bounded), and backpressure
            // reaches the client through TCP.
            stopReading()
        }
        selectRoute(path: path, method: method)
    }

    /// Origin-form or absolute-form target → `target` (path+query) and `authority`.
    func splitTarget(hostValue: ByteSpan) -> Bool {
        let url = parser.url
        request.authority = hostValue
        guard url.count > 0 else {
            respond(.badRequest("empty request request.target"))
            return false
        }
        if url[0] == UInt8(ascii: "/") {
            request.target = url
            return true
        }
        // absolute-form, as sent by clients that use the proxy as http_proxy.
        var i = 0
        while i < url.count, url[i] != UInt8(ascii: ":") { i += 1 }
        let scheme = url.slice(from: 0, to: i)
        guard i + 2 < url.count, url[i + 1] == UInt8(ascii: "/"), url[i + 2] == UInt8(ascii: "/"),
            scheme.equalsLowercase("http") || scheme.equalsLowercase("https")
        else {
            respond(.badRequest("request request.target must be origin-form or absolute-form"))
            return false
        }
        let authStart = i + 3
        var j = authStart
        while j < url.count, url[j] != UInt8(ascii: "/"), url[j] != UInt8(ascii: "?") { j += 1 }
        // RFC 9112 §3.2.2: the absolute-form authority replaces the Host header.
        request.authority = url.slice(from: authStart, to: j)
        request.absoluteForm = true
        if j == url.count {
            request.target = worker.statics.slash.span
        } else if url[j] == UInt8(ascii: "?") {
            // "http://h?q" → "/?q": forward the slash and the query as two pieces.
            request.target = url.slice(from: j, to: url.count)
            request.absoluteQueryOnly = true
        } else {
            request.target = url.slice(from: j, to: url.count)
        }
        return true
    }

    /// Header `i`'s name has `_` (`server.headers_with_underscores`): kept, dropped or refused.
    /// False when the request was refused.
    func admitUnderscoreHeader(_ i: Int) -> Bool {
        let name = parser.headers[i].name
        let policy = worker.config.server.headersWithUnderscores
        if policy == .reject {
            respond(.badRequest("header name with an underscore (\(String(decoding: name.buffer, as: UTF8.self))) refused by server.headers_with_underscores"))
            return false
        }
        if policy == .drop || HeaderKind.readsAsFraming(name) { kinds[i] = .underscored }
        return true
    }

    func malformedName(_ e: ParseError) -> String {
        if case .invalid(let code) = e { return HTTPParser.errorName(code) }
        return "invalid"
    }
}
