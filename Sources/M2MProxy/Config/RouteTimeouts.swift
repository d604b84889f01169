/// A route's own upstream timeouts (DESIGN.md §3 "Timeouts:"): each nil falls back to the
/// `[limits]` key of the same name, so one slow endpoint does not force a global limit.
public struct RouteTimeouts: Sendable, Equatable {
    public var connectTimeoutMs: Int?
    public var responseTimeoutMs: Int?
    /// 0 = no limit between two reads of the response body.
    public var readTimeoutMs: Int?
    public var tunnelIdleTimeoutMs: Int?

    public init(connectTimeoutMs: Int? = nil, responseTimeoutMs: Int? = nil, readTimeoutMs: Int? = nil, tunnelIdleTimeoutMs: Int? = nil) {
        self.connectTimeoutMs = connectTimeoutMs
        self.responseTimeoutMs = responseTimeoutMs
        self.readTimeoutMs = readTimeoutMs
        self.tunnelIdleTimeoutMs = tunnelIdleTimeoutMs
    }
}

/// `server.headers_with_underscores` (DESIGN.md §4). Whatever the mode, a name that reads as
/// Content-Length, Transfer-Encoding, Host or Connection once `_` is taken for `-` is never
/// forwarded: backends that translate `_` (gunicorn, puma, waitress) would see a second framing.
public enum UnderscoreHeaderPolicy: String, Sendable, CaseIterable {
    /// nginx's default (`underscores_in_headers off`): such headers are not forwarded.
    case drop
    /// 400 bad_request.
    case reject
    /// Forwarded as they are.
    case allow
}
