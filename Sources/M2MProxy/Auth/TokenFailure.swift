/// Why parked requests get no token: the reason and how long a client should wait. Auth reports
/// this value; Proxy maps it to its answer (503 `token_unavailable` with Retry-After,
/// `ProxyError.init(_: TokenFailure)`).
struct TokenFailure: Sendable, Equatable {
    let message: String
    let retryAfterSeconds: Int
}
