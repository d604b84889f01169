/// Upstream selection, the fourth phase (STYLE.md §6 `upstreamPeer`): the route's cluster
/// picks an endpoint (`balance`, skipping ejected ones, DESIGN.md §4), then an idle pooled
/// connection to it, a new one, or a place in its pool's queue when the route is at
/// `max_upstream_connections`. A new connection that fails before anything was sent fails over
/// to another endpoint (`failOver`, as `ReverseProxyPhases+RetryDecision` decides). While the
/// new one connects, a connection of the pool that finishes an exchange may be handed over
/// instead (`onUpstreamReplaced`, `UpstreamPool`).
extension ClientConnection: UpstreamWaiter {
    /// `avoid`: the endpoint of a failed attempt (failover takes another one when it can).
    func connectUpstream(avoid: UpstreamPool? = nil) {
        guard let routeRef = request.routeRef else { return }
        // HTTP/2 on either side: the gRPC checks. HTTP/1.1 to HTTP/1.1 pays this one test.
        if reqLog.http2 || routeRef._withUnsafeGuaranteedRef({ $0.upstreamHTTP2 }) {
            connectUpstreamCheckingGRPC(routeRef, avoid: avoid)
            return
        }
        noteUpstreamStarted()
        let slot = routeRef._withUnsafeGuaranteedRef { $0.upstreamSlot }
        selectEndpoint(slot, avoid: avoid)._withUnsafeGuaranteedRef { useEndpoint($0) }
    }

    /// gRPC needs HTTP/2 on both sides (DESIGN.md §7): refused when the client's protocol and
    /// the route's differ, and when the route asks for HTTP/2 (`http2 = true`) but the chosen
    /// endpoint's ALPN picked HTTP/1.1 (an upstream-side failure; one still waiting for its
    /// HTTP/2 connection is checked when that happens, `onUpstreamFellBackToHTTP1`).
    private func connectUpstreamCheckingGRPC(_ routeRef: Unmanaged<CompiledRoute>, avoid: UpstreamPool?) {
        let routeHTTP2 = routeRef._withUnsafeGuaranteedRef { $0.upstreamHTTP2 }
        if routeHTTP2 != reqLog.http2, isGRPCRequest {
            respond(.grpcNeedsHTTP2(clientSide: !reqLog.http2))
            return
        }
        noteUpstreamStarted()
        let ref = selectEndpoint(routeRef._withUnsafeGuaranteedRef { $0.upstreamSlot }, avoid: avoid)
        ref._withUnsafeGuaranteedRef { pool in
            if routeHTTP2 && !pool.speaksHTTP2 && isGRPCRequest {
                refuseGRPC(endpointChoseHTTP1: pool)
                return
            }
            useEndpoint(pool)
        }
    }

    /// A stream's head given as values told already (`grpcGiven`: no scan per HTTP/2 request,
    /// callgrind ~100 instructions).
    private var isGRPCRequest: Bool { grpcGiven ?? GRPCProtocolCheck.isGRPC(parser.headers, count: request.requestHeaderCount) }

    /// An ALPN fallback to HTTP/1.1 reached a request still waiting for the HTTP/2 connection:
    /// false (and the request answered) when it is gRPC.
    func onUpstreamFellBackToHTTP1(_ c: UpstreamConnection) -> Bool {
        guard isUpstream(c), isGRPCRequest else { return true }
        refuseGRPC(endpointChoseHTTP1: c.pool)
        return false
    }

    /// 502 `upstream_unavailable` (a gRPC client: 14 UNAVAILABLE) naming the cause, counted
    /// against the upstream (`alpn_fallback`) without blaming the endpoint's health: it serves
    /// HTTP/1.1 fine.
    private func refuseGRPC(endpointChoseHTTP1 pool: UpstreamPool) {
        noteUpstreamError(.alpnFallback)
        respond(ProxyError(upstream: .alpnFallback, message:
            "gRPC needs HTTP/2 to the upstream; \(pool.label) chose HTTP/1.1 in ALPN (the route sets http2 = true, the server does not offer h2)"))
    }

    /// The request goes to `pool`: an idle connection, a new one, or a place in its queue.
    @inline(__always)
    private func useEndpoint(_ pool: UpstreamPool) {
        if let c = pool.takeIdle() {
            adoptUpstream(c)
            c._withUnsafeGuaranteedRef { $0.attach(self) }
            sendRequest()
        } else if pool.isAtLimit {
            state = .waitingUpstream
            pool.enqueue(self)
            startTimer(ms: connectTimeoutMs)
        } else {
            let c = pool.makeConnection(forRequest: true)
            upstream = c
            state = .connectingUpstream
            c.open(for: self, budgetMs: connectBudgetMs)
        }
    }

    /// Picks the endpoint of the next attempt and remembers it for the access log. Borrowed:
    /// the request holds it from here on (`reqLog.endpoint`), and its cluster lists it.
    func selectEndpoint(_ slot: Int, avoid: UpstreamPool?) -> Unmanaged<UpstreamPool> {
        let ref = worker.upstreamCluster(slot)._withUnsafeGuaranteedRef { driver.upstreamPeer(self, $0, avoid: avoid) }
        ref._withUnsafeGuaranteedRef { pool in
            pool.requests &+= 1
            // Kept across requests: the same endpoint again (keep-alive to one upstream) costs no
            // retain/release.
            if reqLog.endpoint !== pool { reqLog.endpoint = pool }
        }
        reqLog.endpointChosen = true
        return ref
    }

    /// What is left of the request's connect timeout for its next connection.
    var connectBudgetMs: Int {
        request.failover.budgetMs(now: worker.now, connectTimeoutMs: connectTimeoutMs)
    }

    /// `c` (a new connection: nothing of the request was written to it) failed. Tries another
    /// endpoint when the retry decision says so (`ReverseProxyPhases+RetryDecision`); false
    /// when the request must fail.
    func failOver(from c: UpstreamConnection) -> Bool {
        let hasOthers = request.routeRef.map { ref in
            worker.upstreamCluster(ref._withUnsafeGuaranteedRef { $0.upstreamSlot })._withUnsafeGuaranteedRef { $0.hasAlternatives }
        } ?? false
        let cause = RetryCause.connectFailed(
            reused: c.isReused, timedOut: c.failureKind == .connectTimeout, hasAlternatives: hasOthers,
            now: worker.now, retries: worker.limits.retries)
        guard driver.retryDecision(self, after: cause) == .retryOnFreshConnection else { return false }
        connectUpstream(avoid: c.pool)
        return true
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

    // MARK: upstream connection callbacks (before the response)

    /// The pool hands over `c` (it just finished another exchange) while `pending`, this
    /// request's new connection, still connects: nothing was written to `pending`, so the
    /// request goes on `c` at once. False when this request no longer waits for `pending`.
    func onUpstreamReplaced(_ pending: UpstreamConnection, by c: UpstreamConnection) -> Bool {
        guard isUpstream(pending), state == .connectingUpstream, !isClosing else { return false }
        upstream = c
        c.attach(self)
        sendRequest()
        return true
    }

    func onUpstreamReady(_ c: UpstreamConnection) {
        guard isUpstream(c), state == .connectingUpstream else { return }
        sendRequest()
    }

    func onUpstreamFailed(_ c: UpstreamConnection, _ message: String) {
        guard isUpstream(c) else { return }
        upstream = nil
        if failOver(from: c) { return }
        noteUpstreamError(c.failureKind)
        respond(ProxyError(upstream: c.failureKind, message: message))
    }

    func onUpstreamWriteFailed(_ c: UpstreamConnection, _ error: UVError) {
        guard isUpstream(c) else { return }
        upstreamLost(c, error)
    }

    /// Inlined into the `upstreamWriteDrained` override (once per upstream write).
    @inline(__always)
    func onUpstreamWriteDrained(_ c: UpstreamConnection) {
        guard isUpstream(c), request.clientPausedForUpstream, c.writeQueueSize <= Worker.lowWater else { return }
        resumeClientAfterUpstream(c)
    }
}
