internal import CLibUV

/// The response head rewrite: hop-by-hop headers dropped (`HeaderKind`, plus what the
/// response's Connection header names), framing fixed for 204/304 and HTTP/1.0 clients, and
/// the Connection header decided here. Written as iovecs over the upstream's buffer, with the
/// body bytes that came with it.
extension ClientConnection {
    /// Writes the rewritten response head, followed by `bodyBytes` raw body bytes that arrived
    /// with it. Returns false if the client connection failed.
    func sendResponseHead(_ u: UpstreamConnection, headEnd: Int, bodyBytes: Int) -> Bool {
        let p = u.parser
        // The parser's table pointer is a var (lent per exchange): one load, not one per use.
        let headers = p.headers
        request.responseHeadSent = true
        let status = p.statusCode
        reqLog.status = status
        if worker.logsAccess { reqLog.upstreamHeadNs = worker.hrNow }
        u.stopTimer()
        // HTTP/1.0 clients cannot read chunked bodies: de-chunk and delimit by close.
        p.recordBody = request.dechunk
        let noBody = request.isHEAD || status == 204 || status == 304 || status == 101
        // Fixed once the head is parsed; `responseComplete` reads it again.
        request.responseNeedsEOF = p.messageNeedsEOF
        request.clientWillClose = !request.keepAlive || (!noBody && request.responseNeedsEOF) || request.dechunk || !request.bodyDone || (clientEOF && nextStart < 0)
        // Classify once; the request's kinds are no longer needed, so their slots are reused.
        let headerCount = p.headerCount
        for i in 0..<headerCount {
            let kind = HeaderKind.classify(headers[i].name)
            kinds[i] = kind
            if kind == .connection { request.responseConnectionTokens.add(value: headers[i].value) }
        }
        let failed = worker.staticsRef._withUnsafeGuaranteedRef { s in
            writeResponseHead(u, s, headEnd: headEnd, bodyBytes: bodyBytes, status: status, headers: headers, headerCount: headerCount)
        }
        if failed != nil {
            abort()
            return false
        }
        return true
    }

    func writeResponseHead(
        _ u: UpstreamConnection, _ s: StaticLines, headEnd: Int, bodyBytes: Int, status: Int,
        headers: UnsafeMutablePointer<HeaderSpan>, headerCount: Int
    ) -> UVError? {
        // llhttp skips empty lines before a status line: so do we.
        while request.responseHeadStart < headEnd, u.headBuffer.load(fromByteOffset: request.responseHeadStart, as: UInt8.self) == 0x0D
            || u.headBuffer.load(fromByteOffset: request.responseHeadStart, as: UInt8.self) == 0x0A {
            request.responseHeadStart += 1
        }
        let base = u.headBuffer + request.responseHeadStart
        // The status line ends at its CR: right before the first field line (llhttp requires CRLF
        // line ends), or else the first CR (or, defensively, the last byte of the head).
        let headBytes = headEnd - request.responseHeadStart
        var lineEnd = headerCount > 0 ? UnsafeRawPointer(headers[0].name.base) - 2 - UnsafeRawPointer(base) : -1
        if lineEnd < 8 || lineEnd >= headBytes || base.load(fromByteOffset: lineEnd, as: UInt8.self) != 0x0D {
            lineEnd = min(ByteSpan(base: base, count: headBytes).firstIndex(of: 0x0D), headBytes - 1)
        }
        return withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: 8 + headerCount) { storage in
            var iov = IOVecList(storage: storage)
            // Always answer as HTTP/1.1 ("HTTP/1.0 200 OK" from an old upstream → "HTTP/1.1 200 OK").
            iov.append(s.http11)
            iov.append(base + 8, lineEnd + 2 - 8)
            let lastLineEnd = u.headBuffer + headEnd - 2
            for i in 0..<headerCount {
                let name = headers[i].name
                let kind = kinds[i]
                if kind == .upgrade && status == 101 {
                    // The protocol being switched to: the one hop-by-hop header that must pass.
                } else if kind.droppedTowardClient || (kind.isNominatable && request.responseConnectionTokens.names(name)) {
                    continue
                }
                if request.dechunk && kind == .transferEncoding { continue }
                // RFC 9110 §8.6/§6.4.1: no framing on a 204 (or 1xx); no Transfer-Encoding on a
                // 304. An upstream that sends them anyway must not mislead the client's parser.
                if kind == .transferEncoding && (status == 204 || status == 304) { continue }
                if kind == .contentLength && status == 204 { continue }
                let start = name.base
                let end = i + 1 < headerCount ? headers[i + 1].name.base : UnsafeRawPointer(lastLineEnd)
                iov.append(start, end - start)
            }
            if status == 101 {
                iov.append(s.connectionUpgrade)
            } else if request.clientWillClose {
                iov.append(s.connectionClose)
            } else if request.http10 {
                iov.append(s.connectionKeepAlive)
            }
            driver.phases.responseFilter(&request, status: status, into: &iov)
            iov.append(s.crlf)
            iov.append(u.headBuffer + headEnd, bodyBytes)
            return write(iov)
        }
    }
}
