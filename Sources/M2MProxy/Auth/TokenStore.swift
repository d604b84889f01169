/// Where tokens live beyond one process. The cache keeps the hot copy in its entries (the data
/// path reads only that); a store is consulted before a fetch and told after one, so that
/// replicas sharing a store (Redis/Valkey through hiredis's libuv adapter, planned) fetch one
/// token per key between them. Only the control path calls it; calls may complete later.
protocol TokenStore: AnyObject {
    /// A token another process stored for `key`, if any; `completion` runs on the loop.
    func lookup(_ key: TokenKey, completion: @escaping (StoredToken?) -> Void)
    /// Makes a freshly fetched token available to other processes.
    func publish(_ key: TokenKey, _ token: StoredToken)
    /// The token was refused upstream (401 invalid_token): others must not use it either.
    func revoke(_ key: TokenKey, _ token: StoredToken)
}

/// A token as stored: the secret value plus its absolute expiry (Unix seconds), so that a
/// reader in another process can compute its own schedule.
struct StoredToken {
    let accessToken: Secret
    let expiresAtUnix: Int
}

/// The default: nothing outside this process. The cache's own entries are the store.
final class InProcessTokenStore: TokenStore {
    func lookup(_ key: TokenKey, completion: @escaping (StoredToken?) -> Void) { completion(nil) }
    func publish(_ key: TokenKey, _ token: StoredToken) {}
    func revoke(_ key: TokenKey, _ token: StoredToken) {}
}
