/// Request validation, the first part of `requestFilter` (STYLE.md §6): the parsed head is
/// checked before anything else happens: framing (RFC 9112 §6.3), method, Host, target form
/// and dot-segments. A request that fails here is answered 400/405 and never routed. Plain code
/// over the context and the parsed head (`ReverseProxyPhasesTests`); the session parses the
/// head and checks the version (`ClientConnection+RequestValidation`).
extension ReverseProxyPhases {
    /// nil when the request is valid and routed (it ends in `selectRoute`).
    @inline(__always)
    func validate<E: ProxyEnvironment>(_ ctx: inout RequestContext, _ head: RequestHead, _ log: RequestLog, _ env: E) -> ProxyError? {
        let parser = head.parser
        let kinds = head.kinds
        let method = parser.methodCode
        ctx.methodCode = method
        ctx.isHEAD = method == HTTPParser.methodHEAD
        ctx.hasBody = parser.isChunked || (parser.hasContentLength && parser.contentLength > 0)
        ctx.bodyDone = false
        if method == HTTPParser.methodCONNECT {
            return .methodNotAllowed("tunnels are not supported; send http:// URLs through this proxy")
        }
        if parser.hasTransferEncoding && !parser.isChunked {
            // RFC 9112 §6.3: a request whose final coding is not chunked has no reliable length.
            // Refused before anything reaches an upstream.
            return .badRequest("Transfer-Encoding other than chunked")
        }
        // llhttp flags Transfer-Encoding only for a non-empty value; an empty or blank one next to
        // a Content-Length would reach an upstream that may let it win (smuggling): any TE line
        // counts here.
        let teLines = RequestValidation.transferEncodingLines(parser, count: parser.headerCount)
        if teLines > 0 && ctx.http10 {
            // RFC 9112 §6.1: chunked framing from an HTTP/1.0 client is faulty.
            return .badRequest("Transfer-Encoding in an HTTP/1.0 request")
        }
        if teLines > 0 && !RequestValidation.isPlainChunked(parser, count: parser.headerCount) {
            // llhttp accepts "identity, chunked", repeated TE lines, ...; an upstream may read
            // them differently (smuggling). Only one plain `chunked` is forwarded (nginx: 501).
            return .badRequest("Transfer-Encoding must be exactly one \"chunked\"")
        }

        // One pass over the headers: classify, and pick out what routing and forwarding need.
        var hostCount = 0
        var hostValue = ByteSpan.empty
        // Chunked trailers are appended to the parser's header list later: remember where the
        // head's own headers end.
        ctx.requestHeaderCount = parser.headerCount
        for i in 0..<ctx.requestHeaderCount {
            let h = parser.headers[i]
            let kind = HeaderKind.classify(h.name)
            kinds[i] = kind
            switch kind {
            case .host:
                hostCount += 1
                hostValue = h.value.trimmed()
            case .connection:
                ctx.connectionTokens.add(value: h.value)
            case .expect:
                if h.value.trimmed().equalsLowercase("100-continue") { ctx.expectContinue = true }
            case .xForwardedFor:
                ctx.xffCount += 1
            case .upgrade:
                ctx.upgradeRequested = true
            case .other:
                if h.name.firstIndex(of: UInt8(ascii: "_")) < h.name.count {
                    if let refused = admitUnderscoreHeader(i, head, env) { return refused }
                }
            default:
                break
            }
        }
        noteRequestID(ctx, head, log, env)
        if hostCount > 1 {
            return .badRequest("more than one Host header")
        }
        if ctx.connectionTokens.overflow {
            return .badRequest("too many Connection options")
        }
        ctx.hostHeader = hostValue

        // RFC 9110 §7.8: Upgrade only counts when Connection lists it too.
        ctx.upgradeRequested = ctx.upgradeRequested && ctx.connectionTokens.upgrade && !ctx.http10
        if let error = splitTarget(&ctx, head, env, hostValue: hostValue) { return error }
        if !ctx.http10 && hostCount == 0 && !ctx.absoluteForm {
            return .badRequest("missing Host header")
        }

        // Most targets have no query and none of the bytes a dot-segment needs: one scan says
        // so, and the target is the path (callgrind: a scan for `?` and one for `.`/`%` cost
        // ~100 instructions per request).
        var path = ctx.target
        if ctx.target.containsAny(UInt8(ascii: "?"), UInt8(ascii: "."), UInt8(ascii: "%")) {
            path = ctx.target.slice(from: 0, to: ctx.target.firstIndex(of: UInt8(ascii: "?")))
            if RequestValidation.hasDotSegment(path) {
                // A "/products/../admin" (or "/products/%2e%2e/admin") must not ride on the
                // /products route's token.
                return .badRequest("path contains a dot-segment")
            }
        }
        return selectRoute(&ctx, head, env, path: path)
    }

    /// Origin-form or absolute-form target → `target` (path+query) and `authority`. Inlined:
    /// as a call returning an optional error it cost a few instructions per request more.
    @inline(__always)
    func splitTarget<E: ProxyEnvironment>(_ ctx: inout RequestContext, _ head: RequestHead, _ env: E, hostValue: ByteSpan) -> ProxyError? {
        let url = head.parser.url
        ctx.authority = hostValue
        guard url.count > 0 else {
            return .badRequest("empty request target")
        }
        if url[0] == UInt8(ascii: "/") {
            ctx.target = url
            return nil
        }
        // absolute-form, as sent by clients that use the proxy as http_proxy.
        var i = 0
        while i < url.count, url[i] != UInt8(ascii: ":") { i += 1 }
        let scheme = url.slice(from: 0, to: i)
        guard i + 2 < url.count, url[i + 1] == UInt8(ascii: "/"), url[i + 2] == UInt8(ascii: "/"),
            scheme.equalsLowercase("http") || scheme.equalsLowercase("https")
        else {
            return .badRequest("request target must be origin-form or absolute-form")
        }
        let authStart = i + 3
        var j = authStart
        while j < url.count, url[j] != UInt8(ascii: "/"), url[j] != UInt8(ascii: "?") { j += 1 }
        // RFC 9112 §3.2.2: the absolute-form authority replaces the Host header.
        ctx.authority = url.slice(from: authStart, to: j)
        ctx.absoluteForm = true
        if j == url.count {
            ctx.target = env.slash
        } else if url[j] == UInt8(ascii: "?") {
            // "http://h?q" → "/?q": forward the slash and the query as two pieces.
            ctx.target = url.slice(from: j, to: url.count)
            ctx.absoluteQueryOnly = true
        } else {
            ctx.target = url.slice(from: j, to: url.count)
        }
        return nil
    }

    /// Header `i`'s name has `_` (`server.headers_with_underscores`): kept, dropped or refused.
    /// The refusal when the request is refused.
    func admitUnderscoreHeader<E: ProxyEnvironment>(_ i: Int, _ head: RequestHead, _ env: E) -> ProxyError? {
        let name = head.parser.headers[i].name
        let policy = env.config.server.headersWithUnderscores
        if policy == .reject {
            return .badRequest("header name with an underscore (\(String(decoding: name.buffer, as: UTF8.self))) refused by server.headers_with_underscores")
        }
        if policy == .drop || HeaderKind.readsAsFraming(name) { head.kinds[i] = .underscored }
        return nil
    }

    /// The head is parsed and its headers classified: keep the client's X-Request-Id when there
    /// is exactly one and it is sane, else generate one (and drop the client's headers).
    func noteRequestID<E: ProxyEnvironment>(_ ctx: RequestContext, _ head: RequestHead, _ log: RequestLog, _ env: E) {
        var found = -1
        var count = 0
        for i in 0..<ctx.requestHeaderCount where head.kinds[i] == .xRequestID {
            count += 1
            if found < 0 { found = i }
        }
        if count == 1 {
            let value = head.parser.headers[found].value.trimmed()
            if RequestLog.isSane(value) {
                log.requestID = value
                return
            }
        }
        log.replacesClientID = count > 0
        log.generateID(env.requestIDs)
    }
}
