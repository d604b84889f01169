/// The upstream request head (`upstreamRequestFilter`), the phase after upstream selection: the
/// ONE place where the headers sent upstream are decided (STYLE.md §6). The client's head is
/// forwarded as iovecs over its own bytes, minus
/// - hop-by-hop headers (`HeaderKind.droppedTowardUpstream`) and the ones the client's
///   Connection header names (`RequestContext.connectionTokens`),
/// - Host unless `preserve_host` (the endpoint's `Host` line instead),
/// - Authorization on token routes (the route's `Authorization: Bearer` line instead),
/// - X-Request-Id when the proxy replaces the client's,
///
/// plus Connection (`upgrade` passed through, or `close` when no upstream connection is kept
/// idle), X-Forwarded-For (the client's list, then its address), X-Forwarded-Host,
/// X-Request-Id, X-Forwarded-Proto and Via. Plain code over values (`UpstreamRequestHeadTests`);
/// the session gets the token, allocates the iovecs and writes them
/// (`ClientConnection+SendRequest`).
extension ReverseProxyPhases {
    /// Appends the upstream request head, its final CRLF included, to `iov` (room for
    /// `upstreamHeadPieces`).
    @inline(__always)
    func upstreamRequestFilter<L: UpstreamHeadLines>(
        _ ctx: inout RequestContext, _ head: RequestHead, _ up: L, _ log: RequestLog,
        _ s: StaticLines, into iov: inout IOVecList
    ) {
        let parser = head.parser
        let kinds = head.kinds
        let method = parser.method
        let url = parser.url
        let basePath = up.basePath
        if basePath.isEmpty && ctx.target.base == url.base && url.base == method.end + 1
            && method.base.load(fromByteOffset: method.count, as: UInt8.self) == 0x20 {
            // Origin form (the target is the client's) and no base path: the client's
            // `method SP target` as it came, one piece instead of three (callgrind).
            iov.append(method.base, url.end - method.base)
        } else {
            iov.append(method)
            iov.append(s.space)
            iov.append(basePath)
            if ctx.absoluteQueryOnly { iov.append(s.slash) }
            iov.append(ctx.target)
        }
        if up.preserveHost {
            iov.append(s.requestLineEnd)
            iov.append(s.hostPrefix)
            iov.append(ctx.authority)
            iov.append(s.crlf)
        } else {
            iov.append(up.requestLineEndAndHost)
        }
        let headerCount = ctx.requestHeaderCount
        let injecting = up.tokenLine != nil
        // Kept lines are appended a run at a time: a run of adjacent kept lines is one piece
        // (one copy), from its first line up to the next dropped one (or the head's end).
        var run: UnsafeRawPointer? = nil
        for i in 0..<headerCount {
            let kind = kinds[i]
            let kept: Bool
            switch kind {
            case .authorization where injecting:
                kept = false
            case .xRequestID where log.replacesClientID:
                kept = false
            case .upgrade where ctx.upgradeRequested:
                kept = true
            default:
                kept = !(kind.droppedTowardUpstream || (kind.isNominatable && ctx.connectionTokens.names(parser.headers[i].name)))
            }
            if kept {
                if run == nil { run = parser.headers[i].name.base }
            } else if let start = run {
                iov.append(start, parser.headers[i].name.base - start)
                run = nil
            }
        }
        if let start = run { iov.append(start, up.headersEnd - start) }
        if let tokenLine = up.tokenLine { iov.append(tokenLine) }
        if ctx.upgradeRequested {
            iov.append(s.connectionUpgrade)
        } else if !up.upstreamKeepAlive {
            // No keep-alive to upstreams: say so, so the upstream closes its side too.
            iov.append(s.connectionClose)
        }
        if ctx.xffCount > 0 {
            // Append the client's address to the list it sent (all its X-Forwarded-For lines).
            iov.append(s.xffPrefix)
            var first = true
            for i in 0..<headerCount where kinds[i] == .xForwardedFor {
                if !first { iov.append(s.commaSpace) }
                iov.append(parser.headers[i].value.trimmed())
                first = false
            }
            iov.append(up.xffSuffix)
        } else {
            iov.append(up.xffLine)
        }
        // RFC 9112 §3.2.2: an absolute-form target's authority is the request's host.
        let forwardedHost = ctx.absoluteForm || ctx.hostHeader.isEmpty ? ctx.authority : ctx.hostHeader
        if !forwardedHost.isEmpty {
            iov.append(s.xfhPrefix)
            iov.append(forwardedHost)
            iov.append(s.crlf)
        }
        if let line = log.forwardedLine { iov.append(line) }
        // X-Forwarded-Proto, Via and the final CRLF.
        iov.append(up.overTLS ? s.headTailTLS : s.headTail)
    }

    /// Room for the iovecs `upstreamRequestFilter` appends for a head of `headerCount` headers,
    /// `xffCount` of them X-Forwarded-For, and one more: the body bytes the session adds.
    @inline(__always)
    static func upstreamHeadPieces(headerCount: Int, xffCount: Int) -> Int {
        20 + headerCount + 2 * xffCount
    }
}

/// What the upstream request head is made of besides the client's head and the request's
/// context: lines and settings the session holds for the request. A protocol, read where the
/// phase uses them: a value built up front held its lines in registers across the header loop
/// (callgrind: +24 instructions per request). The lines outlive the write (their route,
/// endpoint or connection holds them).
protocol UpstreamHeadLines {
    /// Where the client's last header line ends (its head, minus the final CRLF).
    var headersEnd: UnsafeRawPointer { get }
    /// The route's upstream path, put before the target.
    var basePath: ByteSpan { get }
    /// `preserve_host`: the request's authority goes upstream as Host, not the endpoint's.
    var preserveHost: Bool { get }
    /// ` HTTP/1.1\r\n` and the endpoint's `Host: …\r\n` line, one piece.
    var requestLineEndAndHost: ByteSpan { get }
    /// The route's `Authorization: Bearer …\r\n` line (token routes; it replaces the client's
    /// Authorization); nil: the client's Authorization passes.
    var tokenLine: ByteSpan? { get }
    /// `X-Forwarded-For: <client>\r\n` and `, <client>\r\n`, formatted once per connection.
    var xffLine: ByteSpan { get }
    var xffSuffix: ByteSpan { get }
    /// Upstream connections are kept idle (`limits.upstream_idle_connections` > 0).
    var upstreamKeepAlive: Bool { get }
    /// The client reached a TLS listener: `X-Forwarded-Proto: https`.
    var overTLS: Bool { get }
}
