extension ConfigLoader {
    /// The `[limits]` keys, each with its place in `LimitsConfig`; defaults come from
    /// `LimitsConfig.defaults` so there is exactly one default per key.
    static var limitKeys: [(key: String, field: KeyPath<LimitsConfig, Int>)] {
        [
            ("max_header_bytes", \.maxHeaderBytes),
            ("max_body_bytes", \.maxBodyBytes),
            ("header_timeout_ms", \.headerTimeoutMs),
            ("body_timeout_ms", \.bodyTimeoutMs),
            ("idle_timeout_ms", \.idleTimeoutMs),
            ("connect_timeout_ms", \.connectTimeoutMs),
            ("response_timeout_ms", \.responseTimeoutMs),
            ("token_wait_ms", \.tokenWaitMs),
            ("replay_body_bytes", \.replayBodyBytes),
            ("max_connections", \.maxConnections),
            ("max_requests_per_connection", \.maxRequestsPerConnection),
            ("upstream_idle_connections", \.upstreamIdleConnections),
            ("read_timeout_ms", \.readTimeoutMs),
            ("tunnel_idle_timeout_ms", \.tunnelIdleTimeoutMs),
            ("dns_refresh_ms", \.dnsRefreshMs),
            ("max_fails", \.maxFails),
            ("fail_timeout_ms", \.failTimeoutMs),
            ("retries", \.retries),
            ("max_concurrent_streams", \.maxConcurrentStreams),
        ]
    }

    /// The `[limits]` timeouts a `[[route]]` may override under the same name (its field in
    /// `RouteTimeouts`); the route decoder reads exactly these.
    static var routeTimeoutKeys: [(key: String, field: WritableKeyPath<RouteTimeouts, Int?>)] {
        [
            ("connect_timeout_ms", \.connectTimeoutMs),
            ("response_timeout_ms", \.responseTimeoutMs),
            ("read_timeout_ms", \.readTimeoutMs),
            ("tunnel_idle_timeout_ms", \.tunnelIdleTimeoutMs),
        ]
    }

    /// Keys where 0 means "none" rather than being refused.
    static func limitAllowsZero(_ key: String) -> Bool { key == "read_timeout_ms" }

    /// A route's timeout overrides (`routeTimeoutKeys`), validated like their `[limits]` keys.
    static func decodeRouteTimeouts(_ reader: TableReader) -> (timeouts: RouteTimeouts, failed: Bool) {
        var timeouts = RouteTimeouts()
        var failed = false
        for (key, field) in routeTimeoutKeys where reader.contains(key) {
            guard let value = reader.int(key) else {
                failed = true
                continue
            }
            if value < 0 || (value == 0 && !limitAllowsZero(key)) {
                reader.diagnostics.error(reader.path(key), limitAllowsZero(key) ? "must be 0 (none) or more" : "must be a positive integer")
                failed = true
                continue
            }
            timeouts[keyPath: field] = value
        }
        return (timeouts, failed)
    }

    /// `[limits]`: every value a positive integer, except the ones where 0 means "none" or
    /// "unlimited" (`replay_body_bytes`, `max_requests_per_connection`, `upstream_idle_connections`).
    static func decodeLimits(_ reader: TableReader) -> LimitsConfig? {
        var values: [String: Int] = [:]
        var failed = false
        for (key, field) in limitKeys {
            values[key] = LimitsConfig.defaults[keyPath: field]
            guard reader.contains(key) else { continue }
            guard let value = reader.int(key) else {
                failed = true
                continue
            }
            if key == "replay_body_bytes" {
                // Replayed bodies are held in the request's head buffer, which has room for 64 KiB.
                guard value >= 0 && value <= LimitsConfig.maxReplayBodyBytes else {
                    reader.diagnostics.error(reader.path(key), "must be between 0 and \(LimitsConfig.maxReplayBodyBytes)")
                    failed = true
                    continue
                }
            } else if key == "max_requests_per_connection" {
                guard value >= 0 else {
                    reader.diagnostics.error(reader.path(key), "must be 0 (unlimited) or more")
                    failed = true
                    continue
                }
            } else if key == "upstream_idle_connections" {
                guard value >= 0 else {
                    reader.diagnostics.error(reader.path(key), "must be 0 (no keep-alive to upstreams) or more")
                    failed = true
                    continue
                }
            } else if limitAllowsZero(key) {
                guard value >= 0 else {
                    reader.diagnostics.error(reader.path(key), "must be 0 (none) or more")
                    failed = true
                    continue
                }
            } else if key == "retries" {
                guard value >= 0 && value <= 10 else {
                    reader.diagnostics.error(reader.path(key), "must be between 0 (no failover) and 10")
                    failed = true
                    continue
                }
            } else if key == "fail_timeout_ms" && value > LimitsConfig.maxFailTimeoutMs {
                reader.diagnostics.error(reader.path(key), "must be at most \(LimitsConfig.maxFailTimeoutMs) (5 minutes)")
                failed = true
                continue
            } else if key == "max_concurrent_streams" && value > Int(Int32.max) {
                reader.diagnostics.error(reader.path(key), "must be at most \(Int32.max)")
                failed = true
                continue
            } else if key == "dns_refresh_ms" && value < 100 {
                reader.diagnostics.error(reader.path(key), "must be at least 100")
                failed = true
                continue
            } else if value <= 0 {
                reader.diagnostics.error(reader.path(key), "must be a positive integer")
                failed = true
                continue
            }
            values[key] = value
        }
        reader.reportUnknownKeys()
        guard !failed else { return nil }
        func value(_ key: String) -> Int { values[key] ?? 0 }
        return LimitsConfig(
            maxHeaderBytes: value("max_header_bytes"), maxBodyBytes: value("max_body_bytes"),
            headerTimeoutMs: value("header_timeout_ms"), bodyTimeoutMs: value("body_timeout_ms"),
            idleTimeoutMs: value("idle_timeout_ms"), connectTimeoutMs: value("connect_timeout_ms"),
            responseTimeoutMs: value("response_timeout_ms"), tokenWaitMs: value("token_wait_ms"),
            replayBodyBytes: value("replay_body_bytes"), maxConnections: value("max_connections"),
            maxRequestsPerConnection: value("max_requests_per_connection"),
            upstreamIdleConnections: value("upstream_idle_connections"),
            readTimeoutMs: value("read_timeout_ms"), tunnelIdleTimeoutMs: value("tunnel_idle_timeout_ms"),
            dnsRefreshMs: value("dns_refresh_ms"), maxFails: value("max_fails"),
            failTimeoutMs: value("fail_timeout_ms"), retries: value("retries"),
            maxConcurrentStreams: value("max_concurrent_streams"))
    }
}
