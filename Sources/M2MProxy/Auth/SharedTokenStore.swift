/// Replicas share one token per cache key through Redis / Valkey (DESIGN.md §5 "Across
/// replicas"), on the control loop only; the data path never waits on it.
///
/// Before a fetch: read the store (a usable token is taken, no fetch); else take the fetch lock
/// (`SET lock owner NX PX`); the winner fetches and stores the sealed token, releases the lock
/// and announces it on `<prefix>events`; losers re-read when the announcement arrives (or every
/// 100 ms) until the token is there, the lock is free (a dead owner's expires), or their wait is
/// over and they fetch on their own. Announcements also let replicas holding an older token
/// take the new one before their own refresh point. A 401 `invalid_token` deletes the token if
/// it is still the stored one (compare-and-delete in Lua) and announces its fingerprint, which
/// makes every replica drop it.
///
/// Never worse than no store: every failure or timeout (`timeout_ms`) of the store means "fetch
/// on your own", and a store known to be down is not even asked. Outages are logged once.
final class SharedTokenStore: TokenStore {
    private final class KeyState {
        let entry: TokenEntry
        let material: StoreKeyMaterial
        var waiting = false
        var reading = false
        var deadline: UInt64 = 0
        var lockOwned = false
        let poll: LoopTimer
        /// The token this replica holds for the key: its seq in the cache, its fingerprint and
        /// the exact stored bytes (for compare-and-delete).
        var held: (seq: UInt64, fingerprint: String, sealed: [UInt8], expiresAtMs: Int64)?
        /// Recently revoked fingerprints: a read racing a revocation must not take it back.
        var revoked: [String] = []

        init(entry: TokenEntry, material: StoreKeyMaterial, poll: LoopTimer) {
            self.entry = entry
            self.material = material
            self.poll = poll
        }
    }

    private let io: LoopIO
    private let log: Log
    private let config: TokenStoreConfig
    private let policy: FleetFetchPolicy
    private let commands: RedisClient
    private let events: RedisClient
    private let channel: String
    /// Names this process as a lock owner and message sender.
    private let owner = StoreKeyMaterial.hex(StoreCipher.randomBytes(12))
    private weak var delegate: (any TokenStoreDelegate)?
    private var states: [Int: KeyState] = [:]
    private var byHash: [String: KeyState] = [:]
    private var counters = TokenStoreStats()
    /// Both connections answer (the state last logged).
    private var storeUp = true

    /// The store for `config`, or the in-process default when it has no `[token_store]`.
    static func make(_ config: ProxyConfig, io: LoopIO, log: Log) -> any TokenStore {
        guard let store = config.tokenStore else { return InProcessTokenStore() }
        return SharedTokenStore(io: io, log: log, config: store, tokenWaitMs: config.limits.tokenWaitMs)
    }

    init(io: LoopIO, log: Log, config: TokenStoreConfig, tokenWaitMs: Int) {
        self.io = io
        self.log = log
        self.config = config
        policy = FleetFetchPolicy(tokenWaitMs: tokenWaitMs)
        channel = config.keyPrefix + "events"
        commands = RedisClient(io: io, config: config)
        events = RedisClient(io: io, config: config, channel: channel)
        commands.onHealth = { [weak self] failure in self?.health(failure) }
        events.onHealth = { [weak self] failure in self?.health(failure) }
        commands.onConnectFailed = { [weak self] in self?.failed("connect", .unavailable("")) }
        events.onMessage = { [weak self] payload in self?.message(payload) }
    }

    /// One line when the store stops answering (either connection), one when both answer again.
    private func health(_ failure: String?) {
        let up = commands.healthy && events.healthy
        guard up != storeUp else { return }
        storeUp = up
        if up {
            log.info("token store \(config.displayURL) answers: sharing tokens")
        } else {
            log.warning("token store \(config.displayURL) unavailable (\(failure ?? "no answer")): fetching tokens without it until it answers")
        }
    }

    func attach(_ delegate: any TokenStoreDelegate) {
        self.delegate = delegate
        commands.start()
        events.start()
    }

    var stats: TokenStoreStats? { counters }

    func close() {
        for s in states.values { s.poll.cancel() }
        commands.close()
        events.close()
    }

    private func state(_ e: TokenEntry) -> KeyState {
        if let s = states[e.slot] { return s }
        let s = KeyState(entry: e, material: StoreKeyMaterial(credential: e.credential, key: e.key, prefix: config.keyPrefix), poll: LoopTimer(loop: io.loop))
        states[e.slot] = s
        byHash[s.material.hash] = s
        return s
    }

    // MARK: before a fetch

    func beforeFetch(_ e: TokenEntry) -> Bool {
        let s = state(e)
        if s.waiting { return true }
        // Known down: not even asked (the client would fail at once), but counted.
        guard !commands.isDown else {
            failed("get", .unavailable("down"))
            return false
        }
        s.waiting = true
        s.deadline = io.now + UInt64(policy.waitBudgetMs)
        read(s)
        return true
    }

    /// One round: read the store; take a usable token, else try the lock, else wait and repeat.
    private func read(_ s: KeyState) {
        guard s.waiting, !s.reading else { return }
        s.reading = true
        s.poll.cancel()
        commands.send([Array("GET".utf8), Array(s.material.tokenKey.utf8)]) { [weak self] result in
            guard let self else { return }
            s.reading = false
            guard s.waiting else { return }
            switch result {
            case .failure(let f):
                failed("get", f)
                finish(s, adopt: nil)
            case .success(let v):
                if let sealed = v.bytes, let t = s.material.open(sealed), usable(s, t) {
                    counters.count("get", "hit")
                    finish(s, adopt: (t, sealed))
                } else {
                    counters.count("get", "miss")
                    lock(s)
                }
            }
        }
    }

    private func usable(_ s: KeyState, _ t: StoredToken) -> Bool {
        let fp = s.material.fingerprint(t.accessToken)
        let heldExpiry = s.entry.current == nil ? nil : s.held?.expiresAtMs
        return FleetFetchPolicy.usable(t, nowMs: WallClock.nowMs(), heldExpiresAtMs: heldExpiry, revoked: s.revoked.contains(fp))
    }

    private func lock(_ s: KeyState) {
        let args = ["SET", s.material.lockKey, owner, "NX", "PX", String(policy.lockTTLMs)].map { Array($0.utf8) }
        commands.send(args) { [weak self] result in
            guard let self else { return }
            guard s.waiting else {
                // An announcement ended the wait meanwhile (the peer's token was taken): a lock
                // won after that is released at once, not left to expire.
                if case .success(.status) = result {
                    s.lockOwned = true
                    releaseLock(s)
                }
                return
            }
            switch result {
            case .failure(let f):
                failed("lock", f)
                finish(s, adopt: nil)
            case .success(.status):
                counters.count("lock", "acquired")
                s.lockOwned = true
                recheck(s)
            case .success:
                counters.count("lock", "busy")
                if io.now >= s.deadline {
                    counters.count("wait", "timeout")
                    log.warning("token store: no token from the replica fetching \(s.entry.label) within \(policy.waitBudgetMs) ms: fetching it here")
                    finish(s, adopt: nil)
                } else {
                    s.poll.schedule(afterMs: FleetFetchPolicy.pollMs) { [weak self] in self?.read(s) }
                }
            }
        }
    }

    /// The lock is ours; read once more before fetching: a peer may have stored its token and
    /// released its lock between our read and our lock (its store and unlock are one script, so
    /// a free lock means its token is there).
    private func recheck(_ s: KeyState) {
        commands.send([Array("GET".utf8), Array(s.material.tokenKey.utf8)]) { [weak self] result in
            guard let self else { return }
            guard s.waiting else {
                releaseLock(s)
                return
            }
            if case .success(let v) = result, let sealed = v.bytes, let t = s.material.open(sealed), usable(s, t) {
                counters.count("get", "hit")
                releaseLock(s)  // nothing to fetch after all
                finish(s, adopt: (t, sealed))
            } else {
                finish(s, adopt: nil)
            }
        }
    }

    /// Ends the store phase: take `adopt`, or let the cache fetch.
    private func finish(_ s: KeyState, adopt: (token: StoredToken, sealed: [UInt8])?) {
        s.waiting = false
        s.poll.cancel()
        guard let delegate else { return }
        if let adopt {
            let seq = delegate.storeAdopt(s.entry, adopt.token)
            s.held = (seq, s.material.fingerprint(adopt.token.accessToken), adopt.sealed, adopt.token.expiresAtMs)
        } else {
            delegate.storeFetchNow(s.entry)
        }
    }

    // MARK: after a fetch

    /// Stores the sealed token for its sendable lifetime, releases the lock if it is still ours,
    /// and announces it: one round trip.
    private static let storeScript = """
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
        redis.call('PUBLISH', ARGV[4], ARGV[5])
        return 1
        """

    func fetched(_ e: TokenEntry, _ token: StoredToken, seq: UInt64) {
        let s = state(e)
        s.lockOwned = false
        guard let sealed = s.material.seal(token) else { return }
        s.held = (seq, s.material.fingerprint(token.accessToken), sealed, token.expiresAtMs)
        let ttl = FleetFetchPolicy.storeTTLMs(token, nowMs: WallClock.nowMs())
        guard ttl > 0 else { return }
        guard !commands.isDown else {
            failed("store", .unavailable("down"))
            return
        }
        let args: [[UInt8]] = [
            Array("EVAL".utf8), Array(Self.storeScript.utf8), Array("2".utf8),
            Array(s.material.tokenKey.utf8), Array(s.material.lockKey.utf8),
            sealed, Array(String(ttl).utf8), Array(owner.utf8), Array(channel.utf8),
            Array("s \(s.material.hash) \(owner)".utf8),
        ]
        commands.send(args) { [weak self] result in
            guard let self else { return }
            if case .failure(let f) = result { failed("store", f) } else { counters.count("store", "ok") }
        }
    }

    private static let unlockScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """

    func fetchFailed(_ e: TokenEntry) {
        releaseLock(state(e))
    }

    private func releaseLock(_ s: KeyState) {
        guard s.lockOwned else { return }
        s.lockOwned = false
        // Free the lock at once so that a peer may try (it would expire anyway), if still ours.
        let args = ["EVAL", Self.unlockScript, "1", s.material.lockKey, owner].map { Array($0.utf8) }
        commands.send(args) { [weak self] result in
            guard let self else { return }
            if case .failure(let f) = result { failed("unlock", f) } else { counters.count("unlock", "ok") }
        }
    }

    // MARK: revocation

    /// Deletes the token only if it is still the stored one (a peer may have stored a newer
    /// one), and tells every replica its fingerprint whatever the store held.
    private static let revokeScript = """
        local deleted = 0
        if redis.call('GET', KEYS[1]) == ARGV[1] then deleted = redis.call('DEL', KEYS[1]) end
        redis.call('PUBLISH', ARGV[2], ARGV[3])
        return deleted
        """

    func rejected(_ e: TokenEntry, seq: UInt64) {
        let s = state(e)
        guard let held = s.held, held.seq == seq else { return }
        s.held = nil
        remember(s, revoked: held.fingerprint)
        guard !commands.isDown else { return }
        let args: [[UInt8]] = [
            Array("EVAL".utf8), Array(Self.revokeScript.utf8), Array("1".utf8), Array(s.material.tokenKey.utf8),
            held.sealed, Array(channel.utf8), Array("r \(s.material.hash) \(held.fingerprint)".utf8),
        ]
        commands.send(args) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let f): failed("revoke", f)
            case .success(.integer(1)): counters.count("revoke", "deleted")
            case .success: counters.count("revoke", "not_stored")
            }
        }
    }

    private func remember(_ s: KeyState, revoked fp: String) {
        if s.revoked.contains(fp) { return }
        s.revoked.append(fp)
        if s.revoked.count > 8 { s.revoked.removeFirst() }
    }

    // MARK: announcements

    /// `s <hash> <owner>`: a token was stored; `r <hash> <fingerprint>`: that token was refused.
    private func message(_ payload: [UInt8]) {
        let parts = payload.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
        guard parts.count == 3, let s = byHash[parts[1]] else { return }
        switch parts[0] {
        case "r":
            counters.count("event", "revoked")
            remember(s, revoked: parts[2])
            if let held = s.held, held.fingerprint == parts[2] {
                s.held = nil
                delegate?.storeDrop(s.entry, seq: held.seq)
            }
        case "s" where parts[2] != owner:
            counters.count("event", "stored")
            if s.waiting {
                read(s)
            } else if s.entry.current != nil, s.entry.fetch == nil {
                // A peer refreshed: take its token before this replica's own refresh point.
                takeNewer(s)
            }
        default:
            return
        }
    }

    private func takeNewer(_ s: KeyState) {
        commands.send([Array("GET".utf8), Array(s.material.tokenKey.utf8)]) { [weak self] result in
            guard let self, !s.waiting, s.entry.current != nil else { return }
            switch result {
            case .failure(let f):
                failed("get", f)
            case .success(let v):
                guard let sealed = v.bytes, let t = s.material.open(sealed), usable(s, t) else { return }
                counters.count("get", "newer")
                finish(s, adopt: (t, sealed))
            }
        }
    }

    private func failed(_ op: String, _ f: RedisClient.Failure) {
        counters.errors += 1
        switch f {
        case .timeout: counters.count(op, "timeout")
        case .unavailable: counters.count(op, "unavailable")
        case .refused: counters.count(op, "error")
        }
    }
}

@available(*, unavailable)
extension SharedTokenStore: Sendable {}
