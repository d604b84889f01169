internal import CLibUV

/// The upstream's answer: the response head is parsed in the upstream connection's buffer,
/// rewritten (hop-by-hop headers dropped, Connection decided here) and written as iovecs; the
/// body is streamed as it arrives, with backpressure from the client's write queue.
extension ClientConnection {
    func upstreamData(_ u: UpstreamConnection, _ data: UnsafeRawBufferPointer) {
        guard isUpstream(u) else { return }
        if state == .tunnel {
            tunnelFromUpstream(u, data.baseAddress!, data.count)
            return
        }
        if responseHeadSent {
            processResponseBody(u, data.baseAddress!, data.count)
            return
        }
        guard u.headCount + data.count <= u.headCapacity else {
            failResponse(u, "upstream response head too large")
            return
        }
        (u.headBuffer + u.headCount).copyMemory(from: data.baseAddress!, byteCount: data.count)
        u.headCount += data.count
        parseResponseHead(u)
    }

    private func parseResponseHead(_ u: UpstreamConnection) {
        u.parser.skipBody = isHEAD
        while true {
            let start = responseHeadParsed
            switch u.parser.execute(u.headBuffer + start, u.headCount - start) {
            case .needMore:
                responseHeadParsed = u.headCount
                return
            case .headersComplete(let n):
                let headEnd = start + n
                responseHeadParsed = headEnd
                u.parser.resume()
                let status = u.parser.statusCode
                if status == 401 && shouldReplayAfter401(u) {
                    replayWithFreshToken(u)
                    return
                }
                if status >= 100 && status < 200 && status != 101 {
                    // Interim response (100, 103): relay to HTTP/1.1 clients, then read the next head.
                    if !http10 {
                        write(u.headBuffer + responseHeadStart, headEnd - responseHeadStart)
                    }
                    // llhttp completes the 1xx message with zero bytes; the next head follows.
                    guard case .messageComplete = u.parser.execute(u.headBuffer + headEnd, 0) else {
                        failResponse(u, "invalid interim response from upstream")
                        return
                    }
                    u.parser.resume()
                    responseHeadStart = headEnd
                    continue
                }
                if status == 101 {
                    guard upgradeRequested && bodyDone else {
                        failResponse(u, "unexpected 101 Switching Protocols from upstream")
                        return
                    }
                    guard sendResponseHead(u, headEnd: headEnd, bodyBytes: 0) else { return }
                    startTunnel(u, upstreamBytes: u.headCount - headEnd, at: headEnd)
                    return
                }
                let rest = u.headCount - headEnd
                dechunk = http10 && u.parser.isChunked && !isHEAD
                if dechunk {
                    guard sendResponseHead(u, headEnd: headEnd, bodyBytes: 0) else { return }
                    processResponseBody(u, u.headBuffer + headEnd, rest)
                    return
                }
                // Find the body bytes that arrived with the head, so head and body leave in one
                // writev (one syscall fewer per small response).
                var bodyBytes = rest
                var complete = false
                switch u.parser.execute(u.headBuffer + headEnd, rest) {
                case .needMore:
                    break
                case .messageComplete(let n):
                    u.parser.resume()
                    bodyBytes = n
                    complete = true
                case .headersComplete, .error:
                    failResponse(u, "invalid response body from upstream")
                    return
                }
                guard sendResponseHead(u, headEnd: headEnd, bodyBytes: bodyBytes) else { return }
                if complete {
                    responseComplete(u, extraBytes: rest - bodyBytes)
                } else {
                    afterBodyWrite(u)
                }
                return
            case .messageComplete(let n):
                // No body (HEAD): head and message end together.
                let headEnd = start + n
                u.parser.resume()
                guard sendResponseHead(u, headEnd: headEnd, bodyBytes: 0) else { return }
                responseComplete(u, extraBytes: u.headCount - headEnd)
                return
            case .error:
                failResponse(u, "invalid response from upstream")
                return
            }
        }
    }

    /// DESIGN.md §5: an upstream `401` with `WWW-Authenticate: Bearer … error="invalid_token"` to a
    /// token we injected gets one replay with a fresh token, if the request is still held whole.
    private func shouldReplayAfter401(_ u: UpstreamConnection) -> Bool {
        guard route?.tokenSlot != nil, sentToken != nil, !replayed, bodyDone, !bodyFromSocket else { return false }
        let p = u.parser
        for i in 0..<p.headerCount where p.headers[i].name.equalsLowercase("www-authenticate") {
            if p.headers[i].value.contains("invalid_token") { return true }
        }
        return false
    }

    private func replayWithFreshToken(_ u: UpstreamConnection) {
        guard let slot = route?.tokenSlot, let sent = sentToken else { return }
        replayed = true
        // The 401's body is not wanted: drop that connection rather than read it.
        upstream = nil
        u.abandon()
        responseHeadStart = 0
        responseHeadParsed = 0
        responseConnectionTokens.reset()
        worker.tokens.invalidate(slot: slot, token: sent)
        awaitToken(slot: slot)
    }

    /// Writes the rewritten response head, followed by `bodyBytes` raw body bytes that arrived
    /// with it. Returns false if the client connection failed.
    private func sendResponseHead(_ u: UpstreamConnection, headEnd: Int, bodyBytes: Int) -> Bool {
        let p = u.parser
        // The parser's table pointer is a var (lent per exchange): one load, not one per use.
        let headers = p.headers
        responseHeadSent = true
        let status = p.statusCode
        reqLog.status = status
        if worker.logsAccess { reqLog.upstreamHeadNs = worker.hrNow }
        u.stopTimer()
        // HTTP/1.0 clients cannot read chunked bodies: de-chunk and delimit by close.
        p.recordBody = dechunk
        let noBody = isHEAD || status == 204 || status == 304 || status == 101
        // Fixed once the head is parsed; `responseComplete` reads it again.
        responseNeedsEOF = p.messageNeedsEOF
        clientWillClose = !keepAlive || (!noBody && responseNeedsEOF) || dechunk || !bodyDone || (clientEOF && nextStart < 0)
        // Classify once; the request's kinds are no longer needed, so their slots are reused.
        let headerCount = p.headerCount
        for i in 0..<headerCount {
            let kind = HeaderKind.classify(headers[i].name)
            kinds[i] = kind
            if kind == .connection { responseConnectionTokens.add(value: headers[i].value) }
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

    private func writeResponseHead(
        _ u: UpstreamConnection, _ s: StaticLines, headEnd: Int, bodyBytes: Int, status: Int,
        headers: UnsafeMutablePointer<HeaderSpan>, headerCount: Int
    ) -> UVError? {
        // llhttp skips empty lines before a status line: so do we.
        while responseHeadStart < headEnd, u.headBuffer.load(fromByteOffset: responseHeadStart, as: UInt8.self) == 0x0D
            || u.headBuffer.load(fromByteOffset: responseHeadStart, as: UInt8.self) == 0x0A {
            responseHeadStart += 1
        }
        let base = u.headBuffer + responseHeadStart
        // The status line ends at its CR: right before the first field line (llhttp requires CRLF
        // line ends), or else the first CR (or, defensively, the last byte of the head).
        let headBytes = headEnd - responseHeadStart
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
                } else if kind.isHopByHop || (kind.isNominatable && responseConnectionTokens.names(name)) {
                    continue
                }
                if dechunk && kind == .transferEncoding { continue }
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
            } else if clientWillClose {
                iov.append(s.connectionClose)
            } else if http10 {
                iov.append(s.connectionKeepAlive)
            }
            iov.append(s.crlf)
            iov.append(u.headBuffer + headEnd, bodyBytes)
            return write(iov)
        }
    }

    private func processResponseBody(_ u: UpstreamConnection, _ base: UnsafeRawPointer, _ count: Int) {
        let p = u.parser
        switch p.execute(base, count) {
        case .needMore:
            if count > 0 { writeResponseBody(u, base, count) }
            afterBodyWrite(u)
        case .messageComplete(let n):
            p.resume()
            if n > 0 { writeResponseBody(u, base, n) }
            guard !isClosing else { return }
            responseComplete(u, extraBytes: count - n)
        case .headersComplete, .error:
            // Body framing broken mid-response: the client cannot be told in-band.
            noteUpstreamError(.invalidResponse)
            abort()
        }
    }

    private func writeResponseBody(_ u: UpstreamConnection, _ base: UnsafeRawPointer, _ count: Int) {
        var err: UVError?
        if dechunk {
            for span in u.parser.bodySpans where err == nil {
                err = write(span.base, span.count)
            }
            u.parser.clearBodySpans()
        } else {
            err = write(base, count)
        }
        if err != nil {
            abort()
        }
    }

    /// Backpressure: a slow client stops the upstream's reads rather than making the proxy
    /// buffer its whole response; otherwise the between-reads timeout is re-armed.
    private func afterBodyWrite(_ u: UpstreamConnection) {
        guard !isClosing else { return }
        if writeQueueSize > Worker.highWater {
            // A slow client: stop reading the upstream rather than buffer its whole response.
            upstreamPausedForClient = true
            u.stopReading()
            u.stopTimer()
            // The client must keep reading: no progress for idle_timeout_ms ends the exchange.
            startTimer(ms: worker.limits.idleTimeoutMs)
        } else if !upstreamPausedForClient {
            u.startTimer(ms: worker.limits.responseTimeoutMs)
        }
    }

    private func responseComplete(_ u: UpstreamConnection, extraBytes: Int) {
        upstream = nil
        // Reusable only if the exchange ended cleanly on both sides and nothing trailed it. Not
        // after HEAD, 204 or 304 either: an upstream that wrongly sends a body there would have
        // it read as the next client's response.
        let status = u.parser.statusCode
        let bodyless = isHEAD || status == 204 || status == 304
        let reusable = bodyDone && extraBytes == 0 && u.parser.shouldKeepAlive && !responseNeedsEOF && !bodyless
        u.stopTimer()
        if reusable {
            u.pool.release(u)
        } else {
            u.abandon()
        }
        if clientWillClose { keepAlive = false }
        finishExchange()
    }

    func upstreamEnded(_ u: UpstreamConnection, _ error: UVError) {
        guard isUpstream(u) else { return }
        if state == .tunnel {
            upstream = nil
            u.abandon()
            endRequest()
            closeWhenFlushed()
            return
        }
        if responseHeadSent && error == .eof && u.parser.messageNeedsEOF {
            // Close-delimited body: EOF is its end.
            _ = u.parser.finish()
            upstream = nil
            u.abandon()
            keepAlive = false
            finishExchange()
            return
        }
        upstreamLost(u, error)
    }

    func upstreamTimedOut(_ u: UpstreamConnection) {
        guard isUpstream(u) else { return }
        noteUpstreamError(.responseTimeout)
        if responseHeadSent {
            abort()
            return
        }
        upstream = nil
        u.abandon()
        respond(.upstreamTimeout("upstream did not respond within \(worker.limits.responseTimeoutMs) ms"))
    }

    private func failResponse(_ u: UpstreamConnection, _ message: String) {
        noteUpstreamError(.invalidResponse)
        upstream = nil
        u.abandon()
        if responseHeadSent {
            abort()
        } else {
            respond(.upstreamUnavailable(message))
        }
    }
}
