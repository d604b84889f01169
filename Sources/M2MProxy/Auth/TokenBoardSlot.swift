import Synchronization

/// Where the control loop publishes one cache key's current token for every worker loop
/// (DESIGN.md §1: workers read the token as an immutable value, "atomic swap or a short lock").
///
/// The hot path takes no lock: a worker keeps its own strong copy of the last token it saw plus
/// the `version` it saw it at, and only when an acquiring load of `version` differs does it take
/// the lock to copy the new reference. A token therefore lives as long as any worker's copy
/// (ARC is the reclamation scheme: no epochs, no hazard pointers), and the lock is taken once per
/// worker per token change, i.e. every few minutes.
///
/// Times inside `CachedToken` are loop milliseconds: `uv_now` on Linux is CLOCK_MONOTONIC (or
/// its coarse variant) in milliseconds since boot, one epoch for every loop of the process, so a
/// worker may compare the control loop's deadlines with its own `uv_now` (each loop's value is
/// stale by at most its current iteration; the send margin is seconds). A unit test pins this.
final class TokenBoardSlot: Sendable {
    /// Bumped after every change of `current`, with release ordering (readers acquire).
    private let version = Atomic<UInt64>(0)
    private let current = Locked<CachedToken?>(nil)
    /// `CachedToken.seq` of the last token a request used on any worker: the key was "used
    /// since its last fetch" (DESIGN.md §5) exactly when this equals the current token's seq.
    let usedSeq = Atomic<UInt64>(0)
    /// The last fetch failure's message, for a worker's token_wait_ms timeout answer.
    private let lastError = Locked<String?>(nil)

    init() {}

    /// Control loop only.
    func publish(_ token: CachedToken?) {
        current.withLock { $0 = token }
        version.add(1, ordering: .releasing)
    }

    func setLastError(_ message: String?) {
        lastError.withLock { $0 = message }
    }

    var lastErrorMessage: String? { lastError.withLock { $0 } }

    /// The version a reader compares with the one its copy was taken at.
    var currentVersion: UInt64 { version.load(ordering: .acquiring) }

    /// A strong copy of the current token and the version it belongs to (or a later one).
    func read() -> (token: CachedToken?, version: UInt64) {
        let v = version.load(ordering: .acquiring)
        return (current.withLock { $0 }, v)
    }

    /// Records a use of `token` by a request (relaxed: a hint for the refresh timer, no data
    /// hangs on it). The store is skipped when already set, so steady state only reads the line.
    func noteUse(seq: UInt64) {
        if usedSeq.load(ordering: .relaxed) != seq {
            usedSeq.store(seq, ordering: .relaxed)
        }
    }
}
