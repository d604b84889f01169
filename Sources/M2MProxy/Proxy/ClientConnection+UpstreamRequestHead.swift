internal import CLibUV

/// The upstream request head: the ONE place where the headers sent upstream are decided. The
/// client's head is forwarded as iovecs over its own bytes, minus the headers `HeaderKind` marks
/// hop-by-hop toward the upstream and the ones the proxy replaces (Host unless `preserve_host`,
/// Authorization on token routes, X-Forwarded-*, X-Request-Id when replaced), plus the
/// injected `Authorization: Bearer` line, X-Forwarded-For/-Host/-Proto and X-Request-Id.
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
            request.sentToken = held.token
        }
        let headerCount = request.requestHeaderCount
        let failed: UVError? = worker.staticsRef._withUnsafeGuaranteedRef { s in
            withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: 20 + headerCount + 2 * request.xffCount) { storage in
                var iov = IOVecList(storage: storage)
                iov.append(parser.method)
                iov.append(s.space)
                iov.append(route.basePath)
                if request.absoluteQueryOnly { iov.append(s.slash) }
                iov.append(request.target)
                iov.append(s.requestLineEnd)
                if route.config.preserveHost {
                    iov.append(s.hostPrefix)
                    iov.append(request.authority)
                    iov.append(s.crlf)
                } else {
                    iov.append(u.pool.hostLine)
                }
                let injecting = route.tokenSlot != nil
                let lastLineEnd = head + headEnd - 2
                for i in 0..<headerCount {
                    let kind = kinds[i]
                    switch kind {
                    case .authorization where injecting:
                        continue
                    case .xRequestID where reqLog.replacesClientID:
                        continue
                    case .upgrade where request.upgradeRequested:
                        break
                    default:
                        if kind.droppedTowardUpstream || (kind.isNominatable && request.connectionTokens.names(parser.headers[i].name)) { continue }
                    }
                    let start = parser.headers[i].name.base
                    let end = i + 1 < headerCount ? parser.headers[i + 1].name.base : UnsafeRawPointer(lastLineEnd)
                    iov.append(start, end - start)
                }
                if injecting { iov.append(tokenLine) }
                if request.upgradeRequested {
                    iov.append(s.connectionUpgrade)
                } else if worker.limits.upstreamIdleConnections == 0 {
                    // No keep-alive to upstreams: say so, so the upstream closes its side too.
                    iov.append(s.connectionClose)
                }
                if request.xffCount > 0 {
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
                // RFC 9112 §3.2.2: an absolute-form target's authority is the request's host.
                let forwardedHost = request.absoluteForm || request.hostHeader.isEmpty ? request.authority : request.hostHeader
                if !forwardedHost.isEmpty {
                    iov.append(s.xfhPrefix)
                    iov.append(forwardedHost)
                    iov.append(s.crlf)
                }
                if let line = reqLog.forwardedLine { iov.append(line) }
                driver.phases.upstreamRequestFilter(&request, into: &iov)
                iov.append(clientOverTLS ? s.headTailTLS : s.headTail)
                // A retry re-sends the body bytes that had been forwarded out of the head buffer.
                if request.bufferedBytesProcessed && forwardedFromHead > headEnd {
                    iov.append(head + headEnd, forwardedFromHead - headEnd)
                }
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
                    startReading()
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
