/// Everything the cache knows about one key (credential, resource, scopes, organization).
final class TokenEntry {
    let key: TokenKey
    var credential: CredentialConfig
    /// The complete token request, built once per key (the secret stays inside these bytes).
    let requestBytes: [UInt8]
    let label: String
    var current: CachedToken?
    var fetch: TokenFetch?
    /// Requests parked until the first token arrives.
    var waiters: [ClientConnection] = []
    var lastError: String?
    var failures = 0
    /// No new fetch before this instant (backoff, Retry-After, refused credential).
    var nextAttemptAt: UInt64 = 0
    var warnedClaims = false
    /// A request used the current token after the fetch that produced it completed (the
    /// requests that waited for that fetch do not count): only such keys are refreshed.
    var usedSinceFetch = false
    /// Fires at the refresh point, or at the next retry while a valid token is held.
    var timer: LoopTimer?
    /// Observability (DESIGN.md §6): outcome counts, fetch latency, last outcome.
    var outcomes: [String: Int] = [:]
    var fetchDurations = Histogram()
    var lastOutcome: String?
    /// Route names sharing this key.
    var routes: [String] = []
    /// Called once when the fetch in flight (or the next one) finishes: `POST /tokens/refresh`.
    var refreshWaiters: [(String?) -> Void] = []

    init(key: TokenKey, credential: CredentialConfig, requestBytes: [UInt8]) {
        self.key = key
        self.credential = credential
        self.requestBytes = requestBytes
        label = "credential=\(credential.name) resource=\(key.resource ?? "-") scopes=\(key.scopes.isEmpty ? "-" : key.scopes.joined(separator: ","))" +
            (key.organizationID.map { " organization=\($0)" } ?? "")
    }
}

@available(*, unavailable)
extension TokenEntry: Sendable {}
