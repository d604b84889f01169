extension ConfigLoader {
    static let defaultListen = "0.0.0.0:8080"
    static let defaultAdminListen = "127.0.0.1:9901"
    static let defaultWorkers = 0
    /// More worker loops than this is a typo, not a machine.
    static let maxWorkers = 1024
    static let defaultDrainTimeoutMs = 10000
    static let defaultAccessLog = true

    /// `[server]`: listeners, worker count, admin listener, drain timeout, access log.
    static func decodeServer(_ reader: TableReader) -> ServerConfig? {
        let diagnostics = reader.diagnostics
        var failed = false

        var listen: [ListenAddress] = []
        let listenEntries: [(value: String, keyPath: String)]? =
            reader.contains("listen") ? reader.stringOrStringArray("listen") : [(defaultListen, reader.path("listen"))]
        if let listenEntries {
            if listenEntries.isEmpty {
                diagnostics.error(reader.path("listen"), "must not be empty")
                failed = true
            }
            for entry in listenEntries {
                switch ListenAddressParser.parse(entry.value) {
                case .success(let address):
                    if let earlier = listen.firstIndex(of: address) {
                        diagnostics.error(entry.keyPath, "duplicate of \(reader.path("listen"))[\(earlier)]")
                        failed = true
                    }
                    listen.append(address)
                case .failure(let error):
                    diagnostics.error(entry.keyPath, error.message)
                    failed = true
                }
            }
        } else {
            failed = true
        }

        var workers = defaultWorkers
        if let value = reader.int("workers") {
            if value < 0 {
                diagnostics.error(reader.path("workers"), "must be 0 (one per CPU core) or more")
                failed = true
            } else if value > maxWorkers {
                diagnostics.error(reader.path("workers"), "must be at most \(maxWorkers)")
                failed = true
            } else {
                workers = value
            }
        }

        var adminListen: ListenAddress?
        // nil here means a bad value (already reported); "" switches the admin listener off.
        let adminText = reader.contains("admin_listen") ? reader.string("admin_listen") : defaultAdminListen
        if let adminText, !adminText.isEmpty {
            switch ListenAddressParser.parse(adminText) {
            case .success(let address):
                if let clash = listen.firstIndex(of: address) {
                    diagnostics.error(reader.path("admin_listen"), "same address as \(reader.path("listen"))[\(clash)]")
                    failed = true
                }
                adminListen = address
            case .failure(let error):
                diagnostics.error(reader.path("admin_listen"), error.message)
                failed = true
            }
        } else if adminText == nil {
            failed = true  // wrong type, already reported
        }

        var drainTimeoutMs = defaultDrainTimeoutMs
        if let value = reader.int("drain_timeout_ms") {
            if value < 0 {
                diagnostics.error(reader.path("drain_timeout_ms"), "must be 0 or more")
                failed = true
            } else {
                drainTimeoutMs = value
            }
        }

        var accessLog = defaultAccessLog
        if reader.contains("access_log") {
            if let value = reader.bool("access_log") {
                accessLog = value
            } else {
                failed = true  // wrong type, already reported
            }
        }

        var underscores = UnderscoreHeaderPolicy.drop
        if let text = reader.string("headers_with_underscores") {
            if let policy = UnderscoreHeaderPolicy(rawValue: text) {
                underscores = policy
            } else {
                diagnostics.error(reader.path("headers_with_underscores"), "must be \"drop\", \"reject\" or \"allow\"")
                failed = true
            }
        } else if reader.contains("headers_with_underscores") {
            failed = true  // wrong type, already reported
        }

        let allow = cidrList(reader, "allow_cidrs")
        let trusted = cidrList(reader, "trusted_proxies")
        if allow.failed || trusted.failed { failed = true }

        let tlsListener = decodeTLSListener(reader, listen: listen, admin: adminListen)
        if tlsListener.failed { failed = true }

        reader.reportUnknownKeys()
        guard !failed else { return nil }
        return ServerConfig(
            listen: listen, workers: workers, adminListen: adminListen, drainTimeoutMs: drainTimeoutMs, accessLog: accessLog,
            allowCIDRs: allow.list, trustedProxies: trusted.list ?? [], tlsListen: tlsListener.listen, tls: tlsListener.tls,
            headersWithUnderscores: underscores)
    }

    /// `tls_listen` (a string or an array, like `listen`) with `tls_cert_file` and `tls_key_file`.
    private static func decodeTLSListener(_ reader: TableReader, listen: [ListenAddress], admin: ListenAddress?)
        -> (listen: [ListenAddress], tls: TLSServerSettings?, failed: Bool)
    {
        let diagnostics = reader.diagnostics
        var failed = false
        var addresses: [ListenAddress] = []
        if reader.contains("tls_listen") {
            if let entries = reader.stringOrStringArray("tls_listen") {
                for entry in entries {
                    switch ListenAddressParser.parse(entry.value) {
                    case .success(let address):
                        if let clash = listen.firstIndex(of: address) {
                            diagnostics.error(entry.keyPath, "same address as \(reader.path("listen"))[\(clash)]")
                            failed = true
                        } else if address == admin {
                            diagnostics.error(entry.keyPath, "same address as \(reader.path("admin_listen"))")
                            failed = true
                        } else if let earlier = addresses.firstIndex(of: address) {
                            diagnostics.error(entry.keyPath, "duplicate of \(reader.path("tls_listen"))[\(earlier)]")
                            failed = true
                        }
                        addresses.append(address)
                    case .failure(let error):
                        diagnostics.error(entry.keyPath, error.message)
                        failed = true
                    }
                }
            } else {
                failed = true
            }
        }
        let cert = reader.nonEmptyString("tls_cert_file")
        let key = reader.nonEmptyString("tls_key_file")
        if (reader.table.contains(key: "tls_cert_file") && cert == nil) || (reader.table.contains(key: "tls_key_file") && key == nil) {
            failed = true
        }
        guard !addresses.isEmpty else {
            for k in ["tls_cert_file", "tls_key_file"] where reader.table.contains(key: k) {
                diagnostics.warning(reader.path(k), "has no effect without tls_listen")
            }
            return ([], nil, failed)
        }
        for (k, v) in [("tls_cert_file", cert), ("tls_key_file", key)] where v == nil && !reader.table.contains(key: k) {
            diagnostics.error(reader.path(k), "is required with tls_listen")
            failed = true
        }
        guard !failed, let cert, let key else { return (addresses, nil, true) }
        let settings = TLSServerSettings(certFile: cert, keyFile: key)
        if !checkServerTLS(reader, settings) { failed = true }
        return (addresses, settings, failed)
    }

    /// A list of CIDRs (`"10.0.0.0/8"`, `"::1"`); nil when the key is absent.
    static func cidrList(_ reader: TableReader, _ key: String) -> (list: [CIDR]?, failed: Bool) {
        guard reader.contains(key) else { return (nil, false) }
        guard let entries = reader.stringArray(key) else { return (nil, true) }
        var list: [CIDR] = []
        var failed = false
        for entry in entries {
            if let c = CIDR.parse(entry.value) {
                list.append(c)
            } else {
                reader.diagnostics.error(entry.keyPath, "not an IP address or CIDR (e.g. \"10.0.0.0/8\", \"::1\")")
                failed = true
            }
        }
        return (list, failed)
    }
}
