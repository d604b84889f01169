/// Where tokens live beyond one process (DESIGN.md §5 "Across replicas"). The cache keeps the
/// hot copy in its entries (the data path reads only that); a store is consulted before a fetch
/// and told after one, so that replicas sharing a store (`SharedTokenStore`, Redis/Valkey) fetch
/// one token per key between them. Only the control loop calls it; answers may come later.
protocol TokenStore: AnyObject {
    /// The cache, told once at its creation.
    func attach(_ delegate: any TokenStoreDelegate)
    /// A fetch for `entry` is due (a request needs it, prefetch, or the refresh point). Returns
    /// false: fetch now. True: the store took over and later calls exactly one of the
    /// delegate's `storeFetchNow` (this replica fetches) or `storeAdopt` (a peer's token).
    /// Called again while it is pending, it returns true and does nothing more.
    func beforeFetch(_ entry: TokenEntry) -> Bool
    /// This replica fetched a token (`seq` in the cache): share it.
    func fetched(_ entry: TokenEntry, _ token: StoredToken, seq: UInt64)
    /// This replica's fetch failed: let a peer try.
    func fetchFailed(_ entry: TokenEntry)
    /// An upstream refused the token `seq` (401 invalid_token): no replica may send it again.
    func rejected(_ entry: TokenEntry, seq: UInt64)
    /// Counters for `/metrics` (nil: no store configured).
    var stats: TokenStoreStats? { get }
    func close()
}

/// What a store calls back on the cache (on the control loop).
protocol TokenStoreDelegate: AnyObject {
    func storeFetchNow(_ entry: TokenEntry)
    /// Makes a peer's token current; returns its seq in this process.
    func storeAdopt(_ entry: TokenEntry, _ token: StoredToken) -> UInt64
    /// A peer saw the token `seq` refused upstream: stop sending it.
    func storeDrop(_ entry: TokenEntry, seq: UInt64)
}

/// A token as stored: the secret value, its lifetime as issued, and its absolute expiry (Unix
/// milliseconds), so that a reader in another process can compute its own schedule.
struct StoredToken: Equatable {
    let accessToken: Secret
    let lifetimeSeconds: Int
    let expiresAtMs: Int64
}

/// The default: nothing outside this process. The cache's own entries are the store.
final class InProcessTokenStore: TokenStore {
    func attach(_ delegate: any TokenStoreDelegate) {}
    func beforeFetch(_ entry: TokenEntry) -> Bool { false }
    func fetched(_ entry: TokenEntry, _ token: StoredToken, seq: UInt64) {}
    func fetchFailed(_ entry: TokenEntry) {}
    func rejected(_ entry: TokenEntry, seq: UInt64) {}
    var stats: TokenStoreStats? { nil }
    func close() {}
}

/// `m2m_token_store_operations_total{op,outcome}` and `m2m_token_store_errors_total`.
struct TokenStoreStats: Sendable {
    var operations: [String: Int] = [:]
    var errors = 0

    mutating func count(_ op: String, _ outcome: String) {
        operations["\(op)/\(outcome)", default: 0] += 1
    }
}
