/// The shared store's way back into the cache (`TokenStoreDelegate`): fetch after all, take a
/// peer's token, or drop one a peer saw refused.
extension TokenCache: TokenStoreDelegate {
    func storeFetchNow(_ e: TokenEntry) {
        // A forced refresh may have started a fetch meanwhile.
        guard e.fetch == nil else { return }
        startFetch(e, viaStore: false)
    }

    /// Like a successful fetch, minus the token request: the token's schedule is rebuilt from its
    /// wall-clock expiry, so every replica stops sending it at the same exp − margin.
    func storeAdopt(_ e: TokenEntry, _ s: StoredToken) -> UInt64 {
        let now = context.now
        let remainingMs = s.expiresAtMs - WallClock.nowMs()
        let fetchedAt = UInt64(max(Int64(now) + remainingMs - Int64(s.lifetimeSeconds) * 1000, 0))
        let token = install(e, s.accessToken, fetchedAt: fetchedAt, lifetimeSeconds: s.lifetimeSeconds, now: now)
        context.log.info("token taken from the token store \(e.label) expires_in=\(max(remainingMs, 0) / 1000)s")
        let waiting = e.waitingWorkers
        e.waitingWorkers.removeAll()
        for w in waiting { wake(w, e.slot, nil) }
        let refreshWaiters = e.refreshWaiters
        e.refreshWaiters.removeAll()
        for w in refreshWaiters { w(nil) }
        return token.seq
    }

    func storeDrop(_ e: TokenEntry, seq: UInt64) {
        guard let t = e.current, t.seq == seq else { return }
        context.log.warning("another replica saw the token for \(e.label) refused (401 invalid_token): dropped")
        e.current = nil
        e.board.publish(nil)
        e.timer?.cancel()
    }
}

extension TokenCache {
    /// Makes `accessToken` the entry's current token (a fetch or a token taken from the store):
    /// published to the loops, failures cleared, refresh scheduled.
    func install(_ e: TokenEntry, _ accessToken: Secret, fetchedAt: UInt64, lifetimeSeconds: Int, now: UInt64) -> CachedToken {
        let token = CachedToken(accessToken: accessToken, fetchedAt: fetchedAt, lifetimeSeconds: lifetimeSeconds, seq: nextSeq)
        nextSeq += 1
        e.current = token
        e.board.publish(token)
        e.board.setLastError(nil)
        e.failures = 0
        e.lastError = nil
        e.nextAttemptAt = 0
        schedule(e, at: token.refreshAt, now: now)
        return token
    }
}
