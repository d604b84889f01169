/// The response head rewrite (`responseFilter`): the upstream's head goes to the client as
/// iovecs over the upstream connection's buffer, answered as HTTP/1.1, minus
/// - hop-by-hop headers (`HeaderKind.droppedTowardClient`) and the ones the response's
///   Connection header names (`Upgrade` passes on a 101),
/// - framing a client must not see: Transfer-Encoding and Content-Length on a 204,
///   Transfer-Encoding on a 304 (RFC 9110 §6.4.1, §8.6) or on a response de-chunked for an
///   HTTP/1.0 client (`RequestContext.dechunk`),
///
/// plus the Connection header, decided here: `upgrade` on a 101, `close` when the client's
/// connection ends with this response (`RequestContext.clientWillClose`), `keep-alive` to an
/// HTTP/1.0 client that keeps it. Plain code over values (`ResponseHeadRewriteTests`); the
/// session parses the head, allocates the iovecs and writes them with the body bytes that
/// came along (`ClientConnection+Response`).
extension ReverseProxyPhases {
    /// Appends the client's response head, its final CRLF included, to `iov` (room for
    /// `responseHeadPieces`). Classifies the response's headers into `r.kinds`.
    @inline(__always)
    func responseFilter(_ ctx: inout RequestContext, _ r: UpstreamResponseHead, _ s: StaticLines, into iov: inout IOVecList) {
        let status = r.status
        let headers = r.headers
        let kinds = r.kinds
        let headerCount = r.headerCount
        let noBody = ctx.isHEAD || status == 204 || status == 304 || status == 101
        // Fixed once the head is parsed; `responseComplete` reads it again.
        ctx.responseNeedsEOF = r.needsEOF
        ctx.clientWillClose = !ctx.keepAlive || (!noBody && r.needsEOF) || ctx.dechunk || !ctx.bodyDone || r.clientClosing
        classifyResponseHeaders(&ctx, r)
        // llhttp skips empty lines before a status line: so do we.
        let buffer = r.buffer
        while ctx.responseHeadStart < r.headEnd, buffer.load(fromByteOffset: ctx.responseHeadStart, as: UInt8.self) == 0x0D
            || buffer.load(fromByteOffset: ctx.responseHeadStart, as: UInt8.self) == 0x0A {
            ctx.responseHeadStart += 1
        }
        let base = buffer + ctx.responseHeadStart
        // The status line ends at its CR: right before the first field line (llhttp requires CRLF
        // line ends), or else the first CR (or, defensively, the last byte of the head).
        let headBytes = r.headEnd - ctx.responseHeadStart
        var lineEnd = headerCount > 0 ? UnsafeRawPointer(headers[0].name.base) - 2 - base : -1
        if lineEnd < 8 || lineEnd >= headBytes || base.load(fromByteOffset: lineEnd, as: UInt8.self) != 0x0D {
            lineEnd = min(ByteSpan(base: base, count: headBytes).firstIndex(of: 0x0D), headBytes - 1)
        }
        let lastLineEnd = buffer + r.headEnd - 2
        // Kept lines are appended a run at a time: a run of adjacent kept lines is one piece
        // (one copy), from its first line up to the next dropped one (or the head's end).
        var run: UnsafeRawPointer? = nil
        // Always answer as HTTP/1.1 ("HTTP/1.0 200 OK" from an old upstream → "HTTP/1.1 200 OK").
        // A status line that says so already, followed right by the field lines (or the head's
        // end), starts the first run: the head as sent is one piece up to its first dropped line.
        let nextLine = headerCount > 0 ? UnsafeRawPointer(headers[0].name.base) - base : headBytes - 2
        if base.loadUnaligned(as: UInt64.self) == Self.http11Word && lineEnd + 2 == nextLine {
            run = base
        } else {
            iov.append(s.http11)
            iov.append(base + 8, lineEnd + 2 - 8)
        }
        // The kinds dropped from this response, decided once (a bit test per header, not branches).
        let dropped = droppedKinds(status: status, dechunked: ctx.dechunk)
        let nominates = ctx.responseConnectionTokens.count > 0
        for i in 0..<headerCount {
            let name = headers[i].name
            let kind = kinds[i]
            let kept = dropped & kind.bit == 0
                && !(nominates && kind.isNominatable && ctx.responseConnectionTokens.names(name))
            if kept {
                if run == nil { run = name.base }
            } else if let start = run {
                iov.append(start, name.base - start)
                run = nil
            }
        }
        // Without a Connection line of ours, an open run takes the head's final CRLF too.
        let connectionLine = status == 101 || ctx.clientWillClose || ctx.http10
        if let start = run, !connectionLine {
            iov.append(start, lastLineEnd + 2 - start)
            return
        }
        if let start = run { iov.append(start, lastLineEnd - start) }
        if status == 101 {
            iov.append(s.connectionUpgrade)
        } else if ctx.clientWillClose {
            iov.append(s.connectionClose)
        } else if ctx.http10 {
            iov.append(s.connectionKeepAlive)
        }
        iov.append(s.crlf)
    }

    /// The HTTP/2 form of `responseFilter` (an HTTP/2 stream's inner connection hands its
    /// response to `H2StreamBridge` as fields, not bytes): the same decisions, and `field` gets
    /// each header the client gets, in order. Transfer-Encoding never goes (RFC 9113 §8.2.2: the
    /// session de-chunks the body), nor does any connection-specific field (all hop-by-hop here);
    /// the connection's own keep-alive is the session's business, not the client's.
    @inline(__always)
    func responseFilter(_ ctx: inout RequestContext, _ r: UpstreamResponseHead, fields field: (HeaderSpan) -> Void) {
        let status = r.status
        let noBody = ctx.isHEAD || status == 204 || status == 304
        ctx.responseNeedsEOF = r.needsEOF
        ctx.clientWillClose = !ctx.keepAlive || (!noBody && r.needsEOF) || !ctx.bodyDone || r.clientClosing
        classifyResponseHeaders(&ctx, r)
        let headers = r.headers
        let kinds = r.kinds
        let dropped = droppedKinds(status: status, dechunked: true)
        let nominates = ctx.responseConnectionTokens.count > 0
        for i in 0..<r.headerCount {
            let kind = kinds[i]
            let kept = dropped & kind.bit == 0
                && !(nominates && kind.isNominatable && ctx.responseConnectionTokens.names(headers[i].name))
            if kept { field(headers[i]) }
        }
    }

    /// Classifies the response's headers into `r.kinds` once (the request's kinds are no longer
    /// needed, so their slots are reused) and notes the fields its Connection header names.
    @inline(__always)
    private func classifyResponseHeaders(_ ctx: inout RequestContext, _ r: UpstreamResponseHead) {
        let headers = r.headers
        let kinds = r.kinds
        for i in 0..<r.headerCount {
            let kind = HeaderKind.classify(headers[i].name)
            kinds[i] = kind
            if kind == .connection { ctx.responseConnectionTokens.add(value: headers[i].value) }
        }
    }

    /// The kinds dropped from a response with `status`, as a set of `HeaderKind.bit`s
    /// (`dechunked`: the session sends the payload only, so Transfer-Encoding does not go).
    @inline(__always)
    private func droppedKinds(status: Int, dechunked: Bool) -> UInt32 {
        var dropped = HeaderKind.droppedTowardClientSet
        // The protocol being switched to: the one hop-by-hop header that must pass.
        if status == 101 { dropped &= ~HeaderKind.upgrade.bit }
        // RFC 9110 §8.6/§6.4.1: no framing on a 204 (or 1xx); no Transfer-Encoding on a 304. An
        // upstream that sends them anyway must not mislead the client's parser.
        if dechunked || status == 204 || status == 304 { dropped |= HeaderKind.transferEncoding.bit }
        if status == 204 { dropped |= HeaderKind.contentLength.bit }
        return dropped
    }

    /// "HTTP/1.1" as a little-endian word: the first eight bytes of a status line, compared at once.
    static let http11Word: UInt64 = 0x312E_312F_5054_5448

    /// Room for the iovecs `responseFilter` appends for `headerCount` headers, and one more:
    /// the body bytes the session adds.
    @inline(__always)
    static func responseHeadPieces(headerCount: Int) -> Int { 8 + headerCount }
}

/// The upstream's response head as `responseFilter` reads it: spans into the upstream
/// connection's head buffer, held until the head is written.
struct UpstreamResponseHead {
    /// The upstream connection's head buffer; this response starts at
    /// `RequestContext.responseHeadStart` (after any interim responses) and its head ends at
    /// `headEnd`.
    var buffer: UnsafeRawPointer
    var headEnd: Int
    var status: Int
    /// The parser's header spans.
    var headers: UnsafeMutablePointer<HeaderSpan>
    var headerCount: Int
    /// One slot per header, filled in by `responseFilter` (the request's slots, free by now).
    var kinds: UnsafeMutablePointer<HeaderKind>
    /// llhttp's `message_needs_eof`: the body ends when the upstream closes.
    var needsEOF: Bool
    /// The client half-closed and nothing of it waits: its connection closes after this response.
    var clientClosing: Bool
}
