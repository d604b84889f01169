/// The upstream-selection phase (STYLE.md §6 `upstreamPeer`): which endpoint of the route's
/// cluster a request goes to, and failover to another one when its connection fails before
/// anything was sent (DESIGN.md §4).
extension ClientConnection {
    /// Picks the endpoint of the next attempt and remembers it for the access log.
    func selectEndpoint(_ slot: Int, avoid: UpstreamPool?) -> UpstreamPool {
        let now = worker.now
        let pool = worker.upstreamCluster(slot)._withUnsafeGuaranteedRef { $0.pick(now: now, avoid: avoid) }
        pool.requests &+= 1
        reqLog.endpoint = pool
        return pool
    }

    /// What is left of the request's connect timeout for its next connection.
    var connectBudgetMs: Int {
        failover.budgetMs(now: worker.now, connectTimeoutMs: worker.limits.connectTimeoutMs)
    }

    /// `c` (a new connection: nothing of the request was written to it) failed. Tries another
    /// endpoint when the route has one, retries are left and the connect timeout has not run
    /// out; false when the request must fail.
    func failOver(from c: UpstreamConnection) -> Bool {
        guard !c.isReused, !responseHeadSent, let route, c.failureKind != .connectTimeout else { return false }
        let hasOthers = worker.upstreamCluster(route.upstreamSlot)._withUnsafeGuaranteedRef { $0.hasAlternatives }
        guard hasOthers, failover.mayRetry(now: worker.now, retries: worker.limits.retries) else { return false }
        connectUpstream(avoid: c.pool)
        return true
    }
}
