/// Upstream selection, the fourth phase: an idle pooled connection to the route's upstream, a
/// new one, or a place in the pool's queue when the route is at `max_upstream_connections`
/// (an endpoint picker plugs in here when a route has several upstream endpoints).
extension ClientConnection: UpstreamWaiter {
    func connectUpstream() {
        guard let routeRef else { return }
        noteUpstreamStarted()
        let slot = routeRef._withUnsafeGuaranteedRef { $0.upstreamSlot }
        worker.upstreamPool(slot)._withUnsafeGuaranteedRef { pool in
            if let c = pool.takeIdle() {
                upstream = c
                c.attach(self)
                sendRequest()
            } else if pool.isAtLimit {
                state = .waitingUpstream
                pool.enqueue(self)
                startTimer(ms: worker.limits.connectTimeoutMs)
            } else {
                let c = pool.makeConnection()
                upstream = c
                state = .connectingUpstream
                c.open(for: self)
            }
        }
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

    func onUpstreamReady(_ c: UpstreamConnection) {
        guard isUpstream(c), state == .connectingUpstream else { return }
        sendRequest()
    }

    func onUpstreamFailed(_ c: UpstreamConnection, _ message: String) {
        guard isUpstream(c) else { return }
        upstream = nil
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
        guard isUpstream(c), clientPausedForUpstream, c.writeQueueSize <= Worker.lowWater else { return }
        clientPausedForUpstream = false
        startReading()
    }
}
