extension ConfigLoader {
    /// `[token_store]` (DESIGN.md §3): absent → nil (tokens stay per process). Problems name the
    /// key; `password` / `password_file` follow the other secrets' rules.
    static func decodeTokenStore(_ reader: TableReader) -> (config: TokenStoreConfig?, failed: Bool) {
        guard !reader.table.keys.isEmpty else { return (nil, false) }
        let diagnostics = reader.diagnostics
        let errorsBefore = diagnostics.errors.count
        var parsed: StoreURLParser.Parsed?
        if let text = reader.nonEmptyString("url", required: true) {
            switch StoreURLParser.parse(text) {
            case .success(let p): parsed = p
            case .failure(let e): diagnostics.error(reader.path("url"), e.message)
            }
        }
        let username = reader.nonEmptyString("username")
        let password = inlineOrFile(reader, key: "password", required: false)
        if username != nil && password == nil && diagnostics.errors.count == errorsBefore {
            diagnostics.error(reader.path("password"), "is required with username (or password_file)")
        }
        var keyPrefix = TokenStoreConfig.defaultKeyPrefix
        if reader.contains("key_prefix"), let p = reader.string("key_prefix") {
            if p.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
                diagnostics.error(reader.path("key_prefix"), "must not contain spaces or control characters")
            }
            keyPrefix = p
        }
        var timeoutMs = TokenStoreConfig.defaultTimeoutMs
        if reader.contains("timeout_ms"), let t = reader.int("timeout_ms") {
            if t < 1 || t > 60_000 {
                diagnostics.error(reader.path("timeout_ms"), "must be between 1 and 60000")
            }
            timeoutMs = t
        }
        let tls = decodeClientTLS(reader, https: parsed.map { $0.mode == .tls }, target: "a redis:// or redis-sentinel:// token store")
        reader.reportUnknownKeys()
        guard diagnostics.errors.count == errorsBefore, !tls.failed, let parsed else { return (nil, true) }
        return (TokenStoreConfig(
            mode: parsed.mode, endpoints: parsed.endpoints, database: parsed.database, username: username,
            password: password.map(Secret.init), keyPrefix: keyPrefix, timeoutMs: timeoutMs, tls: tls.settings), false)
    }
}
