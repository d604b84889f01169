internal import CLibUV

/// Sending the request upstream, the I/O of the upstream request head phase: the route's token
/// line is taken from the token cache (or the request parks again when it expired meanwhile),
/// `ReverseProxyPhases.upstreamRequestFilter` (`ReverseProxyPhases+UpstreamRequestHead`, the
/// one place upstream headers change) builds the head as iovecs over the client's head bytes,
/// and the head goes out in one write with the body bytes already buffered; the rest of the
/// body follows (`+RequestBody`).
extension ClientConnection {
    // MARK: forwarding the request

    /// Writes the request head (and any body bytes already buffered) to the upstream.
    func sendRequest() {
        guard let routeRef = request.routeRef, let upstreamRef, let head else { return }
        // Borrowed: the route lives with its router, the upstream connection with its handles.
        routeRef._withUnsafeGuaranteedRef { route in
            upstreamRef._withUnsafeGuaranteedRef { u in sendRequest(route: route, upstream: u, head: head) }
        }
    }

    func sendRequest(route: CompiledRoute, upstream u: UpstreamConnection, head: UnsafeMutableRawPointer) {
        state = .forwarding
        var tokenLine: ByteSpan? = nil
        if let slot = route.tokenSlot {
            let tokens = worker.tokensRef
            let checked: (line: ByteSpan, token: UInt64)? = request.tokenJustAcquired
                ? tokens._withUnsafeGuaranteedRef { $0.acquiredLine(slot: slot) }
                : tokens._withUnsafeGuaranteedRef { $0.headerLine(slot: slot, now: worker.now) }
            guard let held = checked else {
                // The token reached exp - margin while the upstream connection was being set up:
                // nothing is sent yet, so give the connection back and wait for a fresh token.
                upstream = nil
                if u.isReusableUnused { u.pool.release(u) } else { u.abandon() }
                awaitToken(slot: slot)
                return
            }
            tokenLine = held.line
            request.sentToken = held.token
        }
        let capacity = ReverseProxyPhases.upstreamHeadPieces(headerCount: request.requestHeaderCount, xffCount: request.xffCount)
        let failed: UVError? = worker.staticsRef._withUnsafeGuaranteedRef { s in
            withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: capacity) { storage in
                var iov = IOVecList(storage: storage, flat: u.io.writeCoalesce, flatCapacity: LoopIO.writeCoalesceCapacity)
                let lines = SessionHeadLines(
                    session: Unmanaged.passUnretained(self), route: Unmanaged.passUnretained(route),
                    upstream: Unmanaged.passUnretained(u), head: head, tokenLine: tokenLine)
                driver.upstreamRequestFilter(self, RequestHead(parser: parser, kinds: kinds), lines, reqLog, s, into: &iov)
                // A retry re-sends the body bytes that had been forwarded out of the head buffer.
                if request.bufferedBytesProcessed && forwardedFromHead > headEnd {
                    iov.append(head + headEnd, forwardedFromHead - headEnd)
                }
                iov.seal()
                return u.write(iov)
            }
        }
        if let failed {
            upstreamLost(u, failed)
            return
        }
        request.requestBytesSent = true
        // The response timer starts once the whole request is forwarded (`processRequestBytes`
        // at the message's end); until then only the client's body timer runs.
        if request.bufferedBytesProcessed {
            // A retry: the parser already consumed what the head buffer held (re-sent above as
            // bytes); the rest of the body, if any, still comes from the socket.
            if request.bodyDone {
                // The whole request went again at once: the upstream owes its response now.
                startResponseTimer(u)
            } else {
                if headCount > forwardedFromHead {
                    processRequestBytes(head + forwardedFromHead, headCount - forwardedFromHead, fromSocket: false, forward: true)
                } else {
                    startReadingBody()
                    startTimer(ms: worker.limits.bodyTimeoutMs)
                }
            }
            return
        }
        request.bufferedBytesProcessed = true
        forwardedFromHead = headEnd
        if request.hasBody && request.expectContinue && !request.http10 {
            let line = worker.statics.continue100
            write(line.base, line.count)
        }
        processRequestBytes(head + headEnd, headCount - headEnd, fromSocket: false, forward: true)
    }
}

/// The upstream head's lines as this connection holds them, read where the phase uses them
/// (borrowed: the connection, its route and its upstream connection outlive the call).
struct SessionHeadLines: UpstreamHeadLines {
    let session: Unmanaged<ClientConnection>
    let route: Unmanaged<CompiledRoute>
    let upstream: Unmanaged<UpstreamConnection>
    let head: UnsafeMutableRawPointer
    let tokenLine: ByteSpan?

    var headersEnd: UnsafeRawPointer { UnsafeRawPointer(head) + session._withUnsafeGuaranteedRef { $0.headEnd } - 2 }
    var basePath: ByteSpan { route._withUnsafeGuaranteedRef { $0.basePath.span } }
    var preserveHost: Bool { route._withUnsafeGuaranteedRef { $0.config.preserveHost } }
    var requestLineEndAndHost: ByteSpan { upstream._withUnsafeGuaranteedRef { $0.pool.requestLineEndAndHost.span } }
    var xffLine: ByteSpan { session._withUnsafeGuaranteedRef { $0.xffLine.span } }
    var xffSuffix: ByteSpan { session._withUnsafeGuaranteedRef { $0.xffSuffix.span } }
    var upstreamKeepAlive: Bool { session._withUnsafeGuaranteedRef { $0.worker.limits.upstreamIdleConnections != 0 } }
    var overTLS: Bool { session._withUnsafeGuaranteedRef { $0.clientOverTLS } }
}
