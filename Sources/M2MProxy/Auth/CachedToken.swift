import Synchronization

/// A token as the data path uses it: the complete `Authorization: Bearer …\r\n` line, formatted
/// once per token and written by reference into every request head, plus its schedule in loop
/// milliseconds. Immutable and replaced as a whole, so every worker loop may read it
/// (`TokenBoardSlot` publishes it).
final class CachedToken: Sendable {
    let headerLine: StaticBytes
    /// Unique per fetched token in this process: names the token a request sent (a 401
    /// invalidates that one, not a newer one) without keeping the object alive or comparing
    /// addresses that could be reused.
    let seq: UInt64
    /// Set once a request used this token after its refresh point: the control loop is asked
    /// to refresh once, not by every request (see `TokenClient.acquire`).
    let refreshRequested = Atomic<Bool>(false)
    let fetchedAt: UInt64
    let lifetimeMs: UInt64
    /// Never sent at or after this instant: exp − margin (DESIGN.md §5).
    let sendUntil: UInt64
    /// A used key is refreshed from this instant on.
    let refreshAt: UInt64

    /// How long after the fetch started a token of this lifetime may be sent.
    static func sendableMs(lifetimeSeconds: Int) -> UInt64 {
        let life = UInt64(max(lifetimeSeconds, 1)) * 1000
        return life - TokenSchedule.marginMs(lifetimeMs: life)
    }

    init(accessToken: Secret, fetchedAt: UInt64, lifetimeSeconds: Int, seq: UInt64) {
        self.seq = seq
        headerLine = StaticBytes("Authorization: Bearer \(accessToken.value)\r\n")
        self.fetchedAt = fetchedAt
        let life = UInt64(max(lifetimeSeconds, 1)) * 1000
        lifetimeMs = life
        sendUntil = fetchedAt + CachedToken.sendableMs(lifetimeSeconds: lifetimeSeconds)
        refreshAt = fetchedAt + life - TokenSchedule.refreshLeadMs(lifetimeMs: life)
    }
}

/// The timing rules of DESIGN.md §5 in one place.
enum TokenSchedule {
    /// 5 s, or a quarter of the lifetime when that is shorter (clock skew and transit).
    static func marginMs(lifetimeMs: UInt64) -> UInt64 {
        min(5000, lifetimeMs / 4)
    }

    /// Refresh when 10% of the lifetime remains, clamped to 30 s – 5 min, never more than half.
    static func refreshLeadMs(lifetimeMs: UInt64) -> UInt64 {
        let tenth = lifetimeMs / 10
        let clamped = min(max(tenth, 30_000), 300_000)
        return min(clamped, lifetimeMs / 2)
    }
}
