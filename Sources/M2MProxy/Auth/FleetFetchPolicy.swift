/// The fleet single-flight rules (DESIGN.md §5 "Across replicas") as pure functions of the
/// clock, so they are unit-tested with an injected one; `SharedTokenStore` applies them.
struct FleetFetchPolicy {
    /// `limits.token_wait_ms`: how long a parked request waits for a token.
    let tokenWaitMs: Int

    /// The fetch lock expires on its own after this (its owner may die): half the request wait,
    /// so that a waiting replica can take over a dead owner's fetch and still serve its parked
    /// requests in time. A live owner slower than this lets a second replica fetch too (two
    /// tokens, no failure).
    var lockTTLMs: Int { max(1000, tokenWaitMs / 2) }

    /// A replica that lost the lock waits at most this long for the winner's token, then fetches
    /// on its own (never worse than no store).
    var waitBudgetMs: Int { max(500, tokenWaitMs * 3 / 4) }

    /// Between two reads of the store while waiting (pub/sub usually wakes the waiter sooner).
    static let pollMs: UInt64 = 100

    /// Whether a stored token may be taken instead of fetching: still sendable for at least a
    /// second after the margin (DESIGN.md §5's exp − margin), not revoked, and — when this
    /// replica holds a token — a newer one (a refresh by a peer), not the same or an older one.
    static func usable(_ t: StoredToken, nowMs: Int64, heldExpiresAtMs: Int64?, revoked: Bool) -> Bool {
        guard !revoked, t.lifetimeSeconds > 0 else { return false }
        let margin = Int64(TokenSchedule.marginMs(lifetimeMs: UInt64(t.lifetimeSeconds) * 1000))
        guard t.expiresAtMs - margin - 1000 > nowMs else { return false }
        if let held = heldExpiresAtMs { return t.expiresAtMs > held }
        return true
    }

    /// How long a stored token stays in the store: until its last sendable instant.
    static func storeTTLMs(_ t: StoredToken, nowMs: Int64) -> Int64 {
        let margin = Int64(TokenSchedule.marginMs(lifetimeMs: UInt64(max(t.lifetimeSeconds, 1)) * 1000))
        return t.expiresAtMs - margin - nowMs
    }
}
