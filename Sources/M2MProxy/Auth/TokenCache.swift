private import Glibc
import Synchronization

/// The token cache (Envoy's token provider role, STYLE.md §7): one entry per key, single flight
/// per key, proactive refresh of used keys, backoff on failure, and parked requests woken when a
/// fetch ends. The data path asks it for a header line and never waits on the endpoint.
///
/// The schedule (DESIGN.md §5): after a fetch, a timer fires at the refresh point (10% of the
/// lifetime before expiry, clamped to 30 s – 5 min and at most half the lifetime). If a request
/// used the token since, a refresh starts in the background; an idle key is left to expire and
/// is fetched again on demand. A failed refresh while the token is still valid is retried with
/// exponential backoff and full jitter, Retry-After obeyed; refused credentials wait 30 s.
///
/// It lives on the control loop (which is also worker 0's loop) and reaches that loop only
/// through its `TokenCacheContext` (clock, timers, fetches, log), so unit tests run it on a
/// manual clock. The worker loops reach it only through messages (`TokenClient`): single
/// flight across threads is single flight on one loop. Tokens are published to every worker
/// through each slot's `TokenBoardSlot`.
final class TokenCache {
    let context: any TokenCacheContext
    private(set) var entries: [TokenEntry] = []
    private var index: [TokenKey: Int] = [:]
    let store: any TokenStore
    /// Tells worker `id` that a fetch for `slot` ended (nil: a token is there). Set by the
    /// control loop: a direct call for its own worker, a message for the others.
    var wake: (_ worker: Int, _ slot: Int, _ failure: TokenFailure?) -> Void = { _, _, _ in }
    var nextSeq: UInt64 = 1

    init(context: any TokenCacheContext, store: any TokenStore = InProcessTokenStore()) {
        self.context = context
        self.store = store
        store.attach(self)
    }

    /// Every slot's board, indexed by slot (what workers read tokens from).
    var board: [TokenBoardSlot] { entries.map(\.board) }

    /// The token slot of each route of `config` (nil: no credential), creating slots for new keys.
    func assignSlots(_ config: ProxyConfig) -> [Int?] {
        config.routes.map { r in
            r.credentialIndex.map { ci in
                slot(credential: config.credentials[ci], resource: r.resource, scopes: r.scopes, organizationID: r.organizationID, routeName: r.name)
            }
        }
    }

    /// The slot for a key, created on first use (routes with equal keys share a slot).
    func slot(credential: CredentialConfig, resource: String?, scopes: [String], organizationID: String?, routeName: String) -> Int {
        let key = TokenKey(credential: credential, resource: resource, scopes: scopes, organizationID: organizationID)
        if let s = index[key] {
            // Same key (secret included) after a reload: keep the token, take the new settings.
            entries[s].credential = credential
            entries[s].routes.append(routeName)
            return s
        }
        let s = entries.count
        entries.append(TokenEntry(slot: s, key: key, credential: credential, requestBytes: TokenRequestBuilder.build(credential: credential, key: key)))
        index[key] = s
        entries[s].routes.append(routeName)
        return s
    }

    /// A reload is about to assign routes again. Slots are never removed, so requests in flight
    /// keep valid slots; a key no route uses any more is left to expire (never refreshed: unused).
    func beginGeneration() {
        for e in entries { e.routes.removeAll() }
    }

    // MARK: requests from worker loops

    /// A request on `workerID` parked for want of a token: wake that worker once one is there,
    /// starting a fetch unless one is in flight (single flight across all loops), or at once
    /// with the reason while the endpoint is in backoff.
    func need(slot: Int, worker workerID: Int) {
        let e = entries[slot]
        let now = context.now
        if let t = e.current, now < t.sendUntil {
            wake(workerID, slot, nil)
            return
        }
        if e.fetch == nil, now < e.nextAttemptAt, let err = e.lastError {
            wake(workerID, slot, TokenFailure(message: err, retryAfterSeconds: retryAfterSeconds(e, now: now)))
            return
        }
        if !e.waitingWorkers.contains(workerID) { e.waitingWorkers.append(workerID) }
        // A fetch can fail synchronously (e.g. bad address): fetchFinished then wakes at once.
        if e.fetch == nil { startFetch(e) }
    }

    /// An upstream answered 401 `invalid_token` to the token numbered `seq`: drop it, unless a
    /// newer one already replaced it (DESIGN.md §5: that token once, not a newer one), and
    /// fetch anew.
    func rejected(slot: Int, seq: UInt64) {
        let e = entries[slot]
        guard let t = e.current, t.seq == seq else { return }
        store.rejected(e, seq: seq)
        context.log.warning("upstream rejected the token for \(e.label) (401 invalid_token): fetching a new one")
        e.current = nil
        e.board.publish(nil)
        e.timer?.cancel()
        e.outcomes["invalidated", default: 0] += 1
        if e.fetch == nil {
            // A rejection is no reason to wait out an earlier failure's backoff.
            e.nextAttemptAt = 0
            startFetch(e)
        }
    }

    /// The token numbered `seq` was used after its refresh point: refresh in the background
    /// while requests go on with it (the timer may have found the key idle at that point).
    func refreshDue(slot: Int, seq: UInt64) {
        let e = entries[slot]
        guard let t = e.current, t.seq == seq, e.fetch == nil, context.now >= e.nextAttemptAt else { return }
        startFetch(e)
    }

    private func retryAfterSeconds(_ e: TokenEntry, now: UInt64) -> Int {
        e.nextAttemptAt > now ? Int((e.nextAttemptAt - now + 999) / 1000) : 1
    }

    // MARK: fetching

    /// Fetches the tokens of `prefetch = true` credentials at start.
    func prefetch() {
        for e in entries where e.credential.prefetch && e.fetch == nil && !e.routes.isEmpty && e.current == nil {
            startFetch(e)
        }
    }

    /// `viaStore`: ask the shared store first (a peer's token, or the fleet's fetch lock).
    func startFetch(_ e: TokenEntry, viaStore: Bool = true) {
        e.timer?.cancel()
        if viaStore, store.beforeFetch(e) { return }
        context.log.debug("token fetch started \(e.label)")
        let f = context.makeFetch(e, cache: self)
        e.fetch = f
        f.start()
    }

    /// Called exactly once per fetch.
    func fetchFinished(_ e: TokenEntry, _ result: TokenFetch.Outcome, startedAt: UInt64) {
        e.fetch = nil
        let now = context.now
        e.fetchDurations.observe(Double(now &- startedAt) / 1000)
        var outcome = result
        if case .success(_, let lifetime, _) = result, startedAt + CachedToken.sendableMs(lifetimeSeconds: lifetime) <= now {
            // The answer took longer than the token may be used: a failure (with backoff), or
            // waiters would be woken with an unusable token and fetch again at once, forever.
            outcome = .failure(.transient("token endpoint answered after \(now - startedAt) ms, later than a \(lifetime) s token may be used"))
        }
        let label: String
        var failureMessage: String? = nil
        switch outcome {
        case .success: label = "ok"
        case .failure(let f):
            label = f.outcome
            failureMessage = f.message
        }
        e.outcomes[label, default: 0] += 1
        e.lastOutcome = label
        let refreshWaiters = e.refreshWaiters
        e.refreshWaiters.removeAll()
        defer { for w in refreshWaiters { w(failureMessage) } }
        switch outcome {
        case .success(let response, let lifetime, let startedAt):
            // The lifetime counts from when the request was sent, not when the answer arrived:
            // a slow endpoint must not push sendUntil past the real exp - margin.
            let token = install(e, response.accessToken, fetchedAt: startedAt, lifetimeSeconds: lifetime, now: now)
            store.fetched(e, StoredToken(accessToken: response.accessToken, lifetimeSeconds: lifetime, expiresAtMs: WallClock.nowMs() - Int64(now - startedAt) + Int64(lifetime) * 1000), seq: token.seq)
            context.log.info("token fetched \(e.label) lifetime=\(lifetime)s")
            checkClaims(e, response)
            let waiting = e.waitingWorkers
            e.waitingWorkers.removeAll()
            for w in waiting { wake(w, e.slot, nil) }
        case .failure(let failure):
            store.fetchFailed(e)
            e.failures += 1
            e.lastError = failure.message
            e.board.setLastError(failure.message)
            var delay = failure.retryDelayMs(failures: e.failures)
            if case .unreachable = failure, !(e.current.map { now < $0.sendUntil } ?? false) {
                // No usable token: every request is failing, so come back within 5 s of the
                // endpoint's recovery rather than after a backoff grown toward 60 s.
                delay = min(delay, 5000)
            } else if case .transient = failure, !(e.current.map { now < $0.sendUntil } ?? false) {
                delay = min(delay, 5000)
            }
            e.nextAttemptAt = now + delay
            context.log.warning("token fetch failed \(e.label): \(failure.message)")
            if let t = e.current, e.nextAttemptAt < t.sendUntil {
                // Still holding a valid token: retry in the background at the backoff point.
                schedule(e, at: e.nextAttemptAt, now: now)
            }
            // Requests still holding a valid token keep it (DESIGN.md §5); parked ones fail now
            // with the reason rather than waiting out token_wait_ms.
            let waiting = e.waitingWorkers
            e.waitingWorkers.removeAll()
            let reason = TokenFailure(message: failure.message, retryAfterSeconds: retryAfterSeconds(e, now: now))
            for w in waiting { wake(w, e.slot, reason) }
        }
    }

    /// Logto drops unknown scopes silently and a wrong resource makes every upstream answer 401:
    /// say so once per key.
    private func checkClaims(_ e: TokenEntry, _ r: TokenResponse) {
        guard !e.warnedClaims else { return }
        if let resource = e.key.resource, let claims = JWTClaims.decode(r.accessToken.value),
            !claims.audiences.isEmpty, !claims.audiences.contains(resource) {
            e.warnedClaims = true
            context.log.warning("token for \(e.label) has aud=\(claims.audiences.joined(separator: ",")), not the route's resource")
        }
        let granted = Set((r.scope ?? JWTClaims.decode(r.accessToken.value)?.scope ?? "").split(separator: " ").map(String.init))
        if r.scope != nil || !granted.isEmpty {
            let missing = e.key.scopes.filter { !granted.contains($0) }
            if !missing.isEmpty {
                e.warnedClaims = true
                context.log.warning("token for \(e.label) lacks requested scopes: \(missing.joined(separator: " "))")
            }
        }
    }

    /// Arms the entry's timer: at `at`, refresh if the key was used since its last fetch.
    func schedule(_ e: TokenEntry, at: UInt64, now: UInt64) {
        if e.timer == nil { e.timer = context.makeTimer() }
        e.timer!.schedule(afterMs: at > now ? at - now : 1) { [unowned self, unowned e] in
            self.scheduledCheck(e)
        }
    }

    private func scheduledCheck(_ e: TokenEntry) {
        let now = context.now
        guard e.fetch == nil else { return }
        guard let t = e.current, now < t.sendUntil else { return }
        if e.board.usedSeq.load(ordering: .relaxed) != t.seq {
            // Idle since its last fetch: let it expire; the next request fetches on demand.
            context.log.debug("token idle, not refreshed \(e.label)")
            return
        }
        if now < e.nextAttemptAt {
            schedule(e, at: e.nextAttemptAt, now: now)
            return
        }
        startFetch(e)
    }

    /// Forces a fetch for every key used by `routeName` (all keys when nil); `completion` runs
    /// once when those fetches have finished, with the first failure message or nil.
    /// Returns false when no key matches.
    func forceRefresh(routeName: String?, completion: @escaping (String?) -> Void) -> Bool {
        let targets = entries.filter { routeName == nil || $0.routes.contains(routeName!) }
        guard !targets.isEmpty else { return false }
        var remaining = targets.count
        var firstError: String? = nil
        for e in targets {
            e.refreshWaiters.append { err in
                if firstError == nil { firstError = err }
                remaining -= 1
                if remaining == 0 { completion(firstError) }
            }
            // Forced: past the store's lookup (its token may be the one being replaced).
            if e.fetch == nil { startFetch(e, viaStore: false) }
        }
        return true
    }

    /// What `/tokens` and the metrics show (never the token).
    func snapshot() -> [TokenSnapshot] {
        let now = context.now
        return entries.filter { !$0.routes.isEmpty }.map { e in
            let left = e.current.map { $0.sendUntil > now ? Int(($0.sendUntil - now) / 1000) : 0 }
            let exp = e.current.map { t -> Int in
                let end = t.fetchedAt + t.lifetimeMs
                return end > now ? Int((end - now) / 1000) : 0
            }
            return TokenSnapshot(
                credential: e.credential.name, resource: e.key.resource, scopes: e.key.scopes,
                organizationID: e.key.organizationID, secondsLeft: left, expiresInSeconds: exp,
                fetching: e.fetch != nil, lastOutcome: e.lastOutcome, lastError: e.lastError,
                outcomes: e.outcomes, fetchDurations: e.fetchDurations, routes: e.routes,
                prefetch: e.credential.prefetch)
        }
    }

    /// True when every prefetch key holds a sendable token (`/readyz`).
    var prefetchReady: Bool {
        let now = context.now
        return entries.allSatisfy { e in
            e.routes.isEmpty || !e.credential.prefetch || (e.current.map { now < $0.sendUntil } ?? false)
        }
    }

    func closeAll() {
        store.close()
        for e in entries { e.fetch?.cancel() }
    }
}

@available(*, unavailable)
extension TokenCache: Sendable {}
