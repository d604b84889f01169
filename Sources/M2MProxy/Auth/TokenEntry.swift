/// Everything the cache knows about one key (credential, resource, scopes, organization).
final class TokenEntry {
    let slot: Int
    let key: TokenKey
    var credential: CredentialConfig
    /// The complete token request, built once per key (the secret stays inside these bytes).
    let requestBytes: [UInt8]
    let label: String
    var current: CachedToken?
    var fetch: (any TokenFetching)?
    /// Where workers read `current` (published on every change).
    let board = TokenBoardSlot()
    /// Workers with requests parked until a token (or a failure) is there.
    var waitingWorkers: [Int] = []
    var lastError: String?
    var failures = 0
    /// No new fetch before this instant (backoff, Retry-After, refused credential).
    var nextAttemptAt: UInt64 = 0
    var warnedClaims = false
    /// Fires at the refresh point, or at the next retry while a valid token is held.
    var timer: (any TokenTimer)?
    /// Observability (DESIGN.md §6): outcome counts, fetch latency, last outcome.
    var outcomes: [String: Int] = [:]
    var fetchDurations = Histogram()
    var lastOutcome: String?
    /// Route names sharing this key.
    var routes: [String] = []
    /// Called once when the fetch in flight (or the next one) finishes: `POST /tokens/refresh`.
    var refreshWaiters: [(String?) -> Void] = []

    init(slot: Int, key: TokenKey, credential: CredentialConfig, requestBytes: [UInt8]) {
        self.slot = slot
        self.key = key
        self.credential = credential
        self.requestBytes = requestBytes
        label = "credential=\(credential.name) resource=\(key.resource ?? "-") scopes=\(key.scopes.isEmpty ? "-" : key.scopes.joined(separator: ","))" +
            (key.organizationID.map { " organization=\($0)" } ?? "")
    }
}

@available(*, unavailable)
extension TokenEntry: Sendable {}
