/// `[token_store]` (DESIGN.md §3, §5 "Across replicas"): where replicas share their tokens.
public struct TokenStoreConfig: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        /// `redis://host:port/db`
        case standalone
        /// `rediss://host:port/db`: TLS, verified like every other TLS client of the proxy.
        case tls
        /// `redis-sentinel://s1:26379,s2:26379/mymaster[/db]`: the sentinels name the primary.
        case sentinel(masterName: String)
    }

    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        /// Host name or IP literal without brackets.
        public let host: String
        public let port: UInt16
        public init(host: String, port: UInt16) {
            self.host = host
            self.port = port
        }
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public let mode: Mode
    /// The server (standalone, tls) or the sentinels, in the order written.
    public let endpoints: [Endpoint]
    /// `SELECT` after connecting (the URL's `/db`), 0 by default.
    public let database: Int
    /// ACL user for `AUTH username password`; nil: `AUTH password` (the default user).
    public let username: String?
    public let password: Secret?
    /// Put in front of every key and channel the proxy uses.
    public let keyPrefix: String
    /// One store operation; past it this replica fetches on its own.
    public let timeoutMs: Int
    /// `rediss://` only: the `tls_*` keys.
    public let tls: TLSClientSettings

    public static let defaultKeyPrefix = "m2m-proxy:"
    public static let defaultTimeoutMs = 500

    public init(
        mode: Mode, endpoints: [Endpoint], database: Int = 0, username: String? = nil, password: Secret? = nil,
        keyPrefix: String = defaultKeyPrefix, timeoutMs: Int = defaultTimeoutMs, tls: TLSClientSettings = .standard
    ) {
        self.mode = mode
        self.endpoints = endpoints
        self.database = database
        self.username = username
        self.password = password
        self.keyPrefix = keyPrefix
        self.timeoutMs = timeoutMs
        self.tls = tls
    }

    /// For logs: the URL without anything secret (the URL never holds a password).
    public var displayURL: String {
        let hosts = endpoints.map(\.description).joined(separator: ",")
        switch mode {
        case .standalone: return "redis://\(hosts)/\(database)"
        case .tls: return "rediss://\(hosts)/\(database)"
        case .sentinel(let name): return "redis-sentinel://\(hosts)/\(name)/\(database)"
        }
    }
}
