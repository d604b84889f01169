internal import CLibUV

/// The upstream's answer: the response head is parsed in the upstream connection's buffer,
/// rewritten (`ReverseProxyPhases+ResponseHeadRewrite`) and written; the body is streamed as it
/// arrives, with backpressure from the client's write queue. A 401 or a lost connection may
/// send the request again (`ReverseProxyPhases+RetryDecision`, carried out in `+Retry`).
extension ClientConnection {
    /// Inlined into the `upstreamData` override (once per read): as a call of its own it cost
    /// ~8 instructions per request (callgrind).
    @inline(__always)
    func onUpstreamData(_ u: UpstreamConnection, _ data: UnsafeRawBufferPointer) {
        guard isUpstream(u) else { return }
        if state == .tunnel {
            tunnelFromUpstream(u, data.baseAddress!, data.count)
            return
        }
        if request.responseHeadSent {
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

    func parseResponseHead(_ u: UpstreamConnection) {
        u.parser.skipBody = request.isHEAD
        while true {
            let start = request.responseHeadParsed
            switch u.parser.execute(u.headBuffer + start, u.headCount - start) {
            case .needMore:
                request.responseHeadParsed = u.headCount
                return
            case .headersComplete(let n):
                let headEnd = start + n
                request.responseHeadParsed = headEnd
                u.parser.resume()
                let status = u.parser.statusCode
                if status == 401 && driver.retryDecision(
                    self, after: .unauthorized(headers: u.parser.headers, count: u.parser.headerCount)) == .replayWithFreshToken {
                    replayWithFreshToken(u)
                    return
                }
                if status >= 100 && status < 200 && status != 101 {
                    // Interim response (100, 103): relay to HTTP/1.1 clients (not to HTTP/1.0
                    // ones, nor to an HTTP/2 stream's bridge), then read the next head.
                    if !request.http10 && responseSink == nil {
                        write(u.headBuffer + request.responseHeadStart, headEnd - request.responseHeadStart)
                    }
                    // llhttp completes the 1xx message with zero bytes; the next head follows.
                    guard case .messageComplete = u.parser.execute(u.headBuffer + headEnd, 0) else {
                        failResponse(u, "invalid interim response from upstream")
                        return
                    }
                    u.parser.resume()
                    request.responseHeadStart = headEnd
                    continue
                }
                if status == 101 {
                    guard request.upgradeRequested && request.bodyDone else {
                        failResponse(u, "unexpected 101 Switching Protocols from upstream")
                        return
                    }
                    guard sendResponseHead(u, headEnd: headEnd, bodyBytes: 0) else { return }
                    startTunnel(u, upstreamBytes: u.headCount - headEnd, at: headEnd)
                    return
                }
                let rest = u.headCount - headEnd
                // HTTP/1.0 clients and HTTP/2 streams get the payload only.
                request.dechunk = (request.http10 || responseSink != nil) && u.parser.isChunked && !request.isHEAD
                if request.dechunk {
                    guard sendResponseHead(u, headEnd: headEnd, bodyBytes: 0) else { return }
                    processResponseBody(u, u.headBuffer + headEnd, rest)
                    return
                }
                // Find the body bytes that arrived with the head, so head and body leave in one
                // writev (one syscall fewer per small response). The parser may have parsed
                // them with the head already (`HTTPParser.parsesBodyWithHead`).
                var bodyBytes = rest
                var complete = false
                switch u.parser.takeBodyWithHead() ?? u.parser.execute(u.headBuffer + headEnd, rest) {
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
                let h2 = H2FrameSniffer.startsWithHTTP2Frame(u.headBuffer + request.responseHeadStart, u.headCount - request.responseHeadStart)
                failResponse(u, h2 ? H2FrameSniffer.message : "invalid response from upstream")
                return
            }
        }
    }

    /// Writes the response head as `ReverseProxyPhases.responseFilter` rewrites it
    /// (`ReverseProxyPhases+ResponseHeadRewrite`), followed by `bodyBytes` raw body bytes that
    /// arrived with it. Returns false if the client connection failed.
    func sendResponseHead(_ u: UpstreamConnection, headEnd: Int, bodyBytes: Int) -> Bool {
        let p = u.parser
        request.responseHeadSent = true
        let status = p.statusCode
        reqLog.status = status
        if worker.logsAccess { reqLog.upstreamHeadNs = worker.hrNow }
        u.stopTimer()
        // HTTP/1.0 clients cannot read chunked bodies: de-chunk and delimit by close.
        p.recordBody = request.dechunk
        if responseSink != nil {
            sendStreamResponseHead(u, headEnd: headEnd, bodyBytes: bodyBytes)
            return true
        }
        let headerCount = p.headerCount
        let failed = worker.staticsRef._withUnsafeGuaranteedRef { s in
            withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: ReverseProxyPhases.responseHeadPieces(headerCount: headerCount)) { storage in
                var iov = IOVecList(storage: storage, flat: io.writeCoalesce, flatCapacity: LoopIO.writeCoalesceCapacity)
                // Built here rather than captured: fewer values cross into the closure (callgrind).
                // The parser's table pointer is a var (lent per exchange): one load, not one per use.
                let r = UpstreamResponseHead(
                    buffer: u.headBuffer, headEnd: headEnd, status: status, headers: p.headers, headerCount: headerCount,
                    kinds: kinds, needsEOF: p.messageNeedsEOF, clientClosing: clientEOF && nextStart < 0)
                driver.responseFilter(self, r, s, into: &iov)
                iov.append(u.headBuffer + headEnd, bodyBytes)
                iov.seal()
                return write(iov)
            }
        }
        if failed != nil {
            abort()
            return false
        }
        return true
    }

    func processResponseBody(_ u: UpstreamConnection, _ base: UnsafeRawPointer, _ count: Int) {
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

    func writeResponseBody(_ u: UpstreamConnection, _ base: UnsafeRawPointer, _ count: Int) {
        if responseSink != nil { return streamResponseBody(u, base, count) }
        var err: UVError?
        if request.dechunk {
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
    func afterBodyWrite(_ u: UpstreamConnection) {
        guard !isClosing else { return }
        if responseSink != nil { return streamAfterBodyWrite(u) }
        if writeQueueSize > Worker.highWater {
            pauseUpstreamForClient(u)
        } else if !request.upstreamPausedForClient {
            startReadTimer(u)
        }
    }

    /// A slow client: stop reading the upstream rather than buffer its whole response.
    @inline(__always)
    func pauseUpstreamForClient(_ u: UpstreamConnection) {
        request.upstreamPausedForClient = true
        u.stopReading()
        u.stopTimer()
        // The client must keep reading: no progress for idle_timeout_ms ends the exchange.
        startTimer(ms: worker.limits.idleTimeoutMs)
    }

    func responseComplete(_ u: UpstreamConnection, extraBytes: Int) {
        // The exchange's reference goes to the pool's idle list as it is (a release here and a
        // retain there otherwise: callgrind).
        let owned = takeUpstream()
        // Reusable only if the exchange ended cleanly on both sides and nothing trailed it. Not
        // after HEAD, 204 or 304 either: an upstream that wrongly sends a body there would have
        // it read as the next client's response.
        let status = u.parser.statusCode
        let bodyless = request.isHEAD || status == 204 || status == 304
        let reusable = request.bodyDone && extraBytes == 0 && u.parser.shouldKeepAlive && !request.responseNeedsEOF && !bodyless
        u.stopTimer()
        // An HTTP/2 stream's response trailers (gRPC's status), before the parser is reused.
        if request.dechunk && responseSink != nil { streamResponseTrailers(u) }
        if reusable {
            u.poolRef._withUnsafeGuaranteedRef { pool in
                if let owned { pool.release(owned.takeRetainedValue()) } else { pool.release(u) }
            }
        } else {
            u.abandon()
            owned?.release()
        }
        if request.clientWillClose { request.keepAlive = false }
        finishExchange()
        if responseSink != nil { streamResponseEnded() }
    }

    func onUpstreamEnded(_ u: UpstreamConnection, _ error: UVError) {
        guard isUpstream(u) else { return }
        if state == .tunnel {
            upstream = nil
            u.abandon()
            endRequest()
            closeWhenFlushed()
            return
        }
        if request.responseHeadSent && error == .eof && u.parser.messageNeedsEOF {
            // Close-delimited body: EOF is its end.
            _ = u.parser.finish()
            upstream = nil
            u.abandon()
            request.keepAlive = false
            finishExchange()
            if responseSink != nil { streamResponseEnded() }
            return
        }
        upstreamLost(u, error)
    }

    func onUpstreamTimedOut(_ u: UpstreamConnection) {
        guard isUpstream(u) else { return }
        upstreamTimerExpired(u)
    }

    func failResponse(_ u: UpstreamConnection, _ message: String) {
        noteUpstreamError(.invalidResponse)
        upstream = nil
        u.abandon()
        if request.responseHeadSent {
            abort()
        } else {
            respond(.upstreamUnavailable(message))
        }
    }
}
