/// Upstream selection, the fourth phase (STYLE.md §6 `upstreamPeer`): the route's cluster
/// picks an endpoint (`balance`, skipping ejected ones, DESIGN.md §4), then an idle pooled
/// connection to it, a new one, or a place in its pool's queue when the route is at
/// `max_upstream_connections`. A new connection that fails before anything was sent fails over
/// to another endpoint (`failOver`). While the new one connects, a connection of the pool that
/// finishes an exchange may be handed over instead (`onUpstreamReplaced`, `UpstreamPool`).
extension ClientConnection: UpstreamWaiter {
    /// `avoid`: the endpoint of a failed attempt (failover takes another one when it can).
    func connectUpstream(avoid: UpstreamPool? = nil) {
        guard let routeRef = request.routeRef else { return }
        // gRPC needs HTTP/2 on both sides: checked only where the two sides differ.
        if routeRef._withUnsafeGuaranteedRef({ $0.upstreamHTTP2 }) != reqLog.http2,
           GRPCProtocolCheck.isGRPC(parser.headers, count: request.requestHeaderCount) {
            respond(.grpcNeedsHTTP2(clientSide: !reqLog.http2))
            return
        }
        noteUpstreamStarted()
        let slot = routeRef._withUnsafeGuaranteedRef { $0.upstreamSlot }
        let pool = selectEndpoint(slot, avoid: avoid)
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

    /// Picks the endpoint of the next attempt and remembers it for the access log.
    func selectEndpoint(_ slot: Int, avoid: UpstreamPool?) -> UpstreamPool {
        let pool = worker.upstreamCluster(slot)._withUnsafeGuaranteedRef { driver.upstreamPeer(self, $0, avoid: avoid) }
        pool.requests &+= 1
        // Kept across requests: the same endpoint again (keep-alive to one upstream) costs no
        // retain/release.
        if reqLog.endpoint !== pool { reqLog.endpoint = pool }
        reqLog.endpointChosen = true
        return pool
    }

    /// What is left of the request's connect timeout for its next connection.
    var connectBudgetMs: Int {
        request.failover.budgetMs(now: worker.now, connectTimeoutMs: connectTimeoutMs)
    }

    /// `c` (a new connection: nothing of the request was written to it) failed. Tries another
    /// endpoint when the route has one, retries are left and the connect timeout has not run
    /// out; false when the request must fail.
    func failOver(from c: UpstreamConnection) -> Bool {
        guard !c.isReused, !request.responseHeadSent, let route, c.failureKind != .connectTimeout else { return false }
        let hasOthers = worker.upstreamCluster(route.upstreamSlot)._withUnsafeGuaranteedRef { $0.hasAlternatives }
        guard hasOthers, request.failover.mayRetry(now: worker.now, retries: worker.limits.retries) else { return false }
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
