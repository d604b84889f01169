/// The frozen configuration: parsed and validated once by `ConfigLoader`, then only read.
///
/// Everything is a `Sendable` value of `let`s so that the data path never re-checks a key and
/// a reload (SIGHUP) can swap a whole new value in without racing readers.
public struct ProxyConfig: Sendable {
    /// `internal(set)`: a reload keeps the restart-only keys of the running configuration
    /// (`ProxyConfig+Reload.swift`).
    public internal(set) var server: ServerConfig
    public internal(set) var limits: LimitsConfig
    /// Sorted by name, whatever the order of the `[credential.NAME]` sections in the file: the
    /// parser before `TOMLParser` could only give them sorted, and the order stays as it was
    /// (`ConfigLoader.decodeCredentials`); `RouteConfig.credentialIndex` points into this array.
    public let credentials: [CredentialConfig]
    /// In file order: the router takes the first match.
    public let routes: [RouteConfig]
    /// `[token_store]`; nil: tokens are shared within this process only.
    public internal(set) var tokenStore: TokenStoreConfig?

    public init(
        server: ServerConfig, limits: LimitsConfig, credentials: [CredentialConfig], routes: [RouteConfig],
        tokenStore: TokenStoreConfig? = nil
    ) {
        self.tokenStore = tokenStore
        self.server = server
        self.limits = limits
        self.credentials = credentials
        self.routes = routes
    }
}

public struct ServerConfig: Sendable {
    public internal(set) var listen: [ListenAddress]
    /// 0 = one per CPU core.
    public internal(set) var workers: Int
    /// nil when `admin_listen = ""`.
    public internal(set) var adminListen: ListenAddress?
    public let drainTimeoutMs: Int
    /// One JSON line per request on stdout (`access_log`, default true).
    public let accessLog: Bool
    /// Client addresses the proxy listeners serve (`allow_cidrs`); nil = everyone. Others get
    /// 403 `forbidden`.
    public let allowCIDRs: [CIDR]?
    /// Peers whose `X-Forwarded-For` is believed (`trusted_proxies`): the client address is then
    /// the rightmost address in that header that is not itself a trusted proxy.
    public let trustedProxies: [CIDR]
    /// TLS listeners (`tls_listen`), served with `tls`; their clients' requests carry
    /// `X-Forwarded-Proto: https`.
    public internal(set) var tlsListen: [ListenAddress]
    /// Set exactly when `tlsListen` is not empty.
    public internal(set) var tls: TLSServerSettings?
    /// `headers_with_underscores`: what happens to request header names containing `_`.
    public let headersWithUnderscores: UnderscoreHeaderPolicy

    public init(
        listen: [ListenAddress], workers: Int, adminListen: ListenAddress?, drainTimeoutMs: Int, accessLog: Bool = true,
        allowCIDRs: [CIDR]? = nil, trustedProxies: [CIDR] = [], tlsListen: [ListenAddress] = [], tls: TLSServerSettings? = nil,
        headersWithUnderscores: UnderscoreHeaderPolicy = .drop
    ) {
        self.headersWithUnderscores = headersWithUnderscores
        self.tlsListen = tlsListen
        self.tls = tls
        self.listen = listen
        self.workers = workers
        self.adminListen = adminListen
        self.drainTimeoutMs = drainTimeoutMs
        self.accessLog = accessLog
        self.allowCIDRs = allowCIDRs
        self.trustedProxies = trustedProxies
    }
}

public struct LimitsConfig: Sendable {
    public internal(set) var maxHeaderBytes: Int
    public let maxBodyBytes: Int
    public let headerTimeoutMs: Int
    public let bodyTimeoutMs: Int
    public let idleTimeoutMs: Int
    public let connectTimeoutMs: Int
    public let responseTimeoutMs: Int
    public let tokenWaitMs: Int
    /// A request body up to this size is kept so that the request can be replayed once after an
    /// upstream `401 invalid_token` (or a pooled connection closed under it); 0 = only bodyless
    /// requests are replayed.
    public let replayBodyBytes: Int
    /// Open client connections per worker; more are answered 503 `overloaded` and closed.
    public let maxConnections: Int
    /// Requests served on one client connection before it is closed (`Connection: close` on the
    /// last answer); 0 = unlimited.
    public let maxRequestsPerConnection: Int
    /// Idle keep-alive connections kept per upstream and worker (nginx's upstream `keepalive N`,
    /// HAProxy's `pool-max-conn`); 0 = no keep-alive to upstreams (closed after each response).
    public let upstreamIdleConnections: Int
    /// Longest gap between two reads of an upstream response body; 0 = none (DESIGN.md §3
    /// "Timeouts:"). SSE streams and long-polls live within it.
    public let readTimeoutMs: Int
    /// A WebSocket/Upgrade tunnel with no byte either way for this long is closed.
    public let tunnelIdleTimeoutMs: Int
    /// Several endpoints (DESIGN.md §4): how often upstream host names are resolved again, the
    /// consecutive connection failures that eject an endpoint, its first ejection, and how many
    /// other endpoints a request whose connection failed before anything was sent may try.
    public let dnsRefreshMs: Int
    public let maxFails: Int
    public let failTimeoutMs: Int
    public let retries: Int
    /// HTTP/2 streams one client connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS;
    /// more are refused with REFUSED_STREAM). 100: Envoy's edge-proxy recommendation.
    public let maxConcurrentStreams: Int

    public static let maxReplayBodyBytes = 65536
    /// Ejections double on each repeat up to this (5 minutes).
    public static let maxFailTimeoutMs = 300_000

    public static let defaults = LimitsConfig(
        maxHeaderBytes: 32768, maxBodyBytes: 10_485_760, headerTimeoutMs: 10000, bodyTimeoutMs: 30000,
        idleTimeoutMs: 60000, connectTimeoutMs: 3000, responseTimeoutMs: 30000, tokenWaitMs: 5000,
        replayBodyBytes: 65536, maxConnections: 10000, maxRequestsPerConnection: 0, upstreamIdleConnections: 256)

    public init(
        maxHeaderBytes: Int, maxBodyBytes: Int, headerTimeoutMs: Int, bodyTimeoutMs: Int,
        idleTimeoutMs: Int, connectTimeoutMs: Int, responseTimeoutMs: Int, tokenWaitMs: Int,
        replayBodyBytes: Int = 65536, maxConnections: Int = 10000, maxRequestsPerConnection: Int = 0,
        upstreamIdleConnections: Int = 256, readTimeoutMs: Int = 60000, tunnelIdleTimeoutMs: Int = 3_600_000,
        dnsRefreshMs: Int = 5000, maxFails: Int = 3, failTimeoutMs: Int = 10000, retries: Int = 2,
        maxConcurrentStreams: Int = 100
    ) {
        self.maxConcurrentStreams = maxConcurrentStreams
        self.readTimeoutMs = readTimeoutMs
        self.tunnelIdleTimeoutMs = tunnelIdleTimeoutMs
        self.dnsRefreshMs = dnsRefreshMs
        self.maxFails = maxFails
        self.failTimeoutMs = failTimeoutMs
        self.retries = retries
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.headerTimeoutMs = headerTimeoutMs
        self.bodyTimeoutMs = bodyTimeoutMs
        self.idleTimeoutMs = idleTimeoutMs
        self.connectTimeoutMs = connectTimeoutMs
        self.responseTimeoutMs = responseTimeoutMs
        self.tokenWaitMs = tokenWaitMs
        self.replayBodyBytes = replayBodyBytes
        self.maxConnections = maxConnections
        self.maxRequestsPerConnection = maxRequestsPerConnection
        self.upstreamIdleConnections = upstreamIdleConnections
    }
}

/// How a route spreads requests over its endpoints (`balance`).
public enum BalancePolicy: String, Sendable {
    case roundRobin = "round_robin"
    /// Power of two choices over in-flight requests (Envoy's default load balancer).
    case leastRequest = "least_request"
}

public enum URLScheme: String, Sendable {
    case http
    case https
    /// HTTP/2 without TLS, prior knowledge (upstreams only, DESIGN.md §7).
    case h2c
}

/// An absolute http(s) URL split into the parts the proxy needs.
public struct EndpointURL: Sendable, Equatable {
    public let scheme: URLScheme
    /// Host name or IP literal, lowercased, without brackets.
    public let host: String
    /// Explicit port, or 80/443 by scheme.
    public let port: UInt16
    /// Path without query; for upstreams "" when none (or "/") was given and never ending in "/";
    /// for token URLs at least "/".
    public let path: String
    /// What goes in a `Host` header: host (bracketed if IPv6) plus `:port` when not the default.
    public let authority: String

    public init(scheme: URLScheme, host: String, port: UInt16, path: String, authority: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.authority = authority
    }
}

public enum ClientAuthMethod: String, Sendable {
    case clientSecretBasic = "client_secret_basic"
    case clientSecretPost = "client_secret_post"
}

public struct CredentialConfig: Sendable {
    public let name: String
    public let tokenURL: EndpointURL
    public let clientID: String
    public let clientSecret: Secret
    public let authMethod: ClientAuthMethod
    public let prefetch: Bool
    /// TLS to the token endpoint (https token_url).
    public let tls: TLSClientSettings
    public var tlsCAFile: String? { tls.caFile }

    public init(
        name: String, tokenURL: EndpointURL, clientID: String, clientSecret: Secret,
        authMethod: ClientAuthMethod, prefetch: Bool, tlsCAFile: String?, tls: TLSClientSettings? = nil
    ) {
        self.tls = tls ?? TLSClientSettings(caFile: tlsCAFile)
        self.name = name
        self.tokenURL = tokenURL
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.authMethod = authMethod
        self.prefetch = prefetch
    }
}

public enum HostMatch: Sendable, Equatable {
    case any
    /// Lowercased host name without port.
    case exact(String)
    /// `*.example.com` stored as `.example.com` (lowercased): matches `a.example.com`, not `example.com`.
    case suffix(String)
}

public struct RouteConfig: Sendable {
    public let name: String
    public let host: HostMatch
    /// Starts with "/", no trailing "/" unless it is exactly "/".
    public let pathPrefix: String
    /// Uppercased method names; nil = any.
    public let methods: [String]?
    /// The first of `upstreams` (scheme, path and the default Host authority come from it).
    public let upstream: EndpointURL
    /// Every endpoint URL of the route in file order: one for `upstream = "..."`, several for a
    /// list. Same scheme and path (checked by the loader).
    public let upstreams: [EndpointURL]
    public let balance: BalancePolicy
    /// Index into `ProxyConfig.credentials`; nil = forward without a token.
    public let credentialIndex: Int?
    public let resource: String?
    /// As written (order kept); the cache key sorts and dedupes them.
    public let scopes: [String]
    public let organizationID: String?
    public let preserveHost: Bool
    /// TLS to the upstream (https upstream).
    public let tls: TLSClientSettings
    public var tlsCAFile: String? { tls.caFile }
    /// Client addresses this route serves, on top of `server.allow_cidrs`; nil = no extra limit.
    public let allowCIDRs: [CIDR]?
    /// Connections (connecting, busy and idle) this route may hold to its upstream per worker;
    /// 0 = no limit. Requests beyond it wait up to `connect_timeout_ms` for one to free up.
    public let maxUpstreamConnections: Int
    /// Per-route overrides of the `[limits]` upstream timeouts.
    public let timeouts: RouteTimeouts
    /// `http2 = true` on an https route: ALPN offers h2 (HTTP/1.1 when the server does not agree).
    public let http2: Bool
    /// The upstream speaks HTTP/2: `h2c://`, or https with `http2 = true` (then if ALPN agrees).
    public var upstreamHTTP2: Bool { upstream.scheme == .h2c || http2 }

    public init(
        name: String, host: HostMatch, pathPrefix: String, methods: [String]?, upstream: EndpointURL,
        credentialIndex: Int?, resource: String?, scopes: [String], organizationID: String?,
        preserveHost: Bool, tlsCAFile: String?, allowCIDRs: [CIDR]? = nil, tls: TLSClientSettings? = nil,
        maxUpstreamConnections: Int = 0, timeouts: RouteTimeouts = RouteTimeouts(),
        upstreams: [EndpointURL]? = nil, balance: BalancePolicy = .roundRobin, http2: Bool = false
    ) {
        self.http2 = http2
        self.timeouts = timeouts
        self.upstreams = upstreams ?? [upstream]
        self.balance = balance
        self.tls = tls ?? TLSClientSettings(caFile: tlsCAFile)
        self.name = name
        self.host = host
        self.pathPrefix = pathPrefix
        self.methods = methods
        self.upstream = upstream
        self.credentialIndex = credentialIndex
        self.resource = resource
        self.scopes = scopes
        self.organizationID = organizationID
        self.preserveHost = preserveHost
        self.allowCIDRs = allowCIDRs
        self.maxUpstreamConnections = maxUpstreamConnections
    }
}
