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

        let allow = cidrList(reader, "allow_cidrs")
        let trusted = cidrList(reader, "trusted_proxies")
        if allow.failed || trusted.failed { failed = true }

        reader.reportUnknownKeys()
        guard !failed else { return nil }
        return ServerConfig(
            listen: listen, workers: workers, adminListen: adminListen, drainTimeoutMs: drainTimeoutMs, accessLog: accessLog,
            allowCIDRs: allow.list, trustedProxies: trusted.list ?? [])
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
