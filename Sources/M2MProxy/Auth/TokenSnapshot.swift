/// What `/tokens`, `/readyz` and the token metrics may know about one cache key: never the token.
struct TokenSnapshot {
    let credential: String
    let resource: String?
    let scopes: [String]
    let organizationID: String?
    /// Seconds until the held token may no longer be sent (exp − margin); nil when none is held.
    let secondsLeft: Int?
    /// Seconds until the token's expiry itself; nil when none is held.
    let expiresInSeconds: Int?
    let fetching: Bool
    /// "ok", or the failure class of the last fetch ("unreachable", "transient", "rate_limited",
    /// "refused"); nil before the first fetch finished.
    let lastOutcome: String?
    /// The last failure's message (no secrets: built from status codes and OAuth error codes).
    let lastError: String?
    /// Fetch outcome label → count, for `m2m_token_requests_total{outcome}`.
    let outcomes: [String: Int]
    let fetchDurations: Histogram
    /// Route names using this key.
    let routes: [String]
    let prefetch: Bool
}
