extension ConfigLoader {
    /// `[[route]]` entries in file order; an entry is nil when it has errors.
    static func decodeRoutes(_ root: TableReader, credentials: DecodedCredentials) -> [RouteConfig?] {
        let diagnostics = root.diagnostics
        guard let value = root.value("route") else {
            diagnostics.warning("route", "no routes configured: every request gets 404")
            warnUnusedCredentials(credentials, used: [], diagnostics: diagnostics)
            return []
        }
        guard let array = value.array else {
            diagnostics.error("route", "must be an array of tables ([[route]])")
            return []
        }
        if array.isEmpty {
            diagnostics.warning("route", "no routes configured: every request gets 404")
        }

        var routes: [RouteConfig?] = []
        var usedCredentials: Set<Int> = []
        var names: [String: Int] = [:]
        for index in 0..<array.count {
            let element = array[index]
            guard let table = element.table else {
                diagnostics.error(RouteKeyPath.of(index: index, name: nil), "must be a table ([[route]])")
                routes.append(nil)
                continue
            }
            let keyPath = RouteKeyPath.of(index: index, name: writtenName(table, environment: root.environment))
            let reader = TableReader(
                table: table, keyPath: keyPath, environment: root.environment, diagnostics: diagnostics)
            let route = decodeRoute(index: index, reader, credentials: credentials)
            if let route {
                if let earlier = names[route.name] {
                    diagnostics.error(reader.path("name"), "duplicate name \"\(route.name)\" (also route[\(earlier)])")
                    routes.append(nil)
                    continue
                }
                names[route.name] = index
                if let credentialIndex = route.credentialIndex { usedCredentials.insert(credentialIndex) }
            }
            routes.append(route)
        }
        warnUnusedCredentials(credentials, used: usedCredentials, diagnostics: diagnostics)
        return routes
    }

    /// A route whose entry has errors uses no credential here: only a file without errors can say
    /// that a credential is unused (a usage warning, dropped when there are errors).
    private static func warnUnusedCredentials(
        _ credentials: DecodedCredentials, used: Set<Int>, diagnostics: ConfigDiagnostics
    ) {
        for (index, name) in credentials.names.enumerated() where !used.contains(index) {
            diagnostics.usageWarning(TableReader.join("credential", name), "not used by any route")
        }
    }

    /// The route's `name` as its key path shows it, read before the entry is decoded; nil when
    /// absent or not a valid name (its own error says why).
    private static func writtenName(_ table: TOMLTable, environment: [String: String]) -> String? {
        guard let raw = table["name"]?.string,
              case .success(let name) = EnvExpander.expand(raw, environment: environment),
              nameProblem(name) == nil
        else { return nil }
        return name
    }

    private static func decodeRoute(index: Int, _ reader: TableReader, credentials: DecodedCredentials) -> RouteConfig? {
        let diagnostics = reader.diagnostics
        var failed = false
        func fail(_ key: String, _ message: String) {
            diagnostics.error(reader.path(key), message)
            failed = true
        }

        var name = "route\(index)"
        if let text = reader.string("name") {
            if let problem = nameProblem(text) {
                fail("name", problem)
            } else {
                name = text
            }
        } else if reader.contains("name") {
            failed = true
        }

        var host = HostMatch.any
        if let text = reader.string("host") {
            switch HostMatchParser.parse(text) {
            case .success(let match): host = match
            case .failure(let error): fail("host", error.message)
            }
        } else if reader.contains("host") {
            failed = true
        }

        var pathPrefix = "/"
        if let text = reader.string("path_prefix") {
            switch normalizePathPrefix(text) {
            case .success(let prefix): pathPrefix = prefix
            case .failure(let error): fail("path_prefix", error.message)
            }
        } else if reader.contains("path_prefix") {
            failed = true
        }

        var methods: [String]?
        if let entries = reader.stringArray("methods") {
            if entries.isEmpty {
                fail("methods", "must not be empty (omit methods to match any method)")
            }
            var list: [String] = []
            for entry in entries {
                let method = entry.value.uppercased()
                if method.isEmpty || !method.utf8.allSatisfy(isTokenByte) {
                    diagnostics.error(entry.keyPath, "must be an HTTP method name like GET")
                    failed = true
                } else if HTTPMethod.code(named: method) == nil {
                    // The parser refuses such a request line (400) before routing: the route could
                    // never match on this method.
                    diagnostics.error(entry.keyPath, "unknown HTTP method \"\(method)\" (llhttp refuses it, so no request could match)")
                    failed = true
                } else if !list.contains(method) {
                    list.append(method)
                }
            }
            methods = list
        } else if reader.contains("methods") {
            failed = true
        }

        let upstreams = decodeUpstreams(reader)
        if upstreams == nil { failed = true }
        let upstream = upstreams?.first
        let balance = decodeBalance(reader)
        if balance == nil { failed = true }

        var credentialIndex: Int?
        if let text = reader.string("credential") {
            if let found = credentials.names.firstIndex(of: text) {
                credentialIndex = found
            } else {
                fail("credential", "no credential named \"\(text)\" (expected a [\(TableReader.join("credential", text))] section)")
            }
        } else if reader.contains("credential") {
            failed = true
        }
        let hasCredential = reader.contains("credential")

        var resource: String?
        if let text = reader.nonEmptyString("resource") {
            if let problem = resourceProblem(text) {
                fail("resource", problem)
            } else {
                resource = text
            }
        }

        var scopes: [String] = []
        if let entries = reader.stringArray("scopes") {
            for entry in entries {
                if let problem = scopeProblem(entry.value) {
                    diagnostics.error(entry.keyPath, problem)
                    failed = true
                } else {
                    scopes.append(entry.value)
                }
            }
        }

        let allow = cidrList(reader, "allow_cidrs")
        if allow.failed { failed = true }
        let organizationID = reader.nonEmptyString("organization_id")
        let preserveHost = reader.bool("preserve_host") ?? false
        var maxUpstreamConnections = 0
        if let n = reader.int("max_upstream_connections") {
            if n < 0 {
                fail("max_upstream_connections", "must be 0 (no limit) or more")
            } else {
                maxUpstreamConnections = n
            }
        } else if reader.contains("max_upstream_connections") {
            failed = true
        }
        let timeouts = decodeRouteTimeouts(reader)
        if timeouts.failed { failed = true }
        let tls = decodeClientTLS(reader, https: upstream.map { $0.scheme == .https }, target: "an http upstream")
        if tls.failed { failed = true }
        let http2 = decodeHTTP2(reader, scheme: upstream?.scheme)
        if http2 == nil { failed = true }

        if !hasCredential {
            for key in ["resource", "scopes", "organization_id"] where reader.table.contains(key: key) {
                diagnostics.warning(reader.path(key), "has no effect without credential")
            }
        }
        reader.reportUnknownKeys()

        guard !failed, let upstream, let upstreams, let balance else { return nil }
        return RouteConfig(
            name: name, host: host, pathPrefix: pathPrefix, methods: methods, upstream: upstream,
            credentialIndex: credentialIndex, resource: resource, scopes: scopes, organizationID: organizationID,
            preserveHost: preserveHost, tlsCAFile: tls.settings.caFile, allowCIDRs: allow.list, tls: tls.settings,
            maxUpstreamConnections: maxUpstreamConnections, timeouts: timeouts.timeouts,
            upstreams: upstreams, balance: balance, http2: http2 ?? false)
    }

    /// `http2`: only an https upstream negotiates it (ALPN); h2c:// always speaks HTTP/2 and
    /// http:// never does. nil when the value is wrong (reported).
    static func decodeHTTP2(_ reader: TableReader, scheme: URLScheme?) -> Bool? {
        guard reader.contains("http2") else { return false }
        guard let on = reader.bool("http2") else { return nil }
        guard on, let scheme else { return false }
        switch scheme {
        case .https:
            return true
        case .http:
            reader.diagnostics.error(reader.path("http2"), "needs an https upstream (ALPN h2); for HTTP/2 without TLS write upstream = \"h2c://…\"")
            return nil
        case .h2c:
            reader.diagnostics.warning(reader.path("http2"), "has no effect: h2c:// always speaks HTTP/2")
            return false
        }
    }

    /// "/api/" → "/api"; "/" stays "/". Must start with "/"; query, fragment, spaces and control
    /// characters are refused since the router compares it with the raw request path.
    static func normalizePathPrefix(_ text: String) -> Result<String, ConfigValueError> {
        guard text.hasPrefix("/") else { return .failure(ConfigValueError("must start with \"/\"")) }
        if text.contains("?") || text.contains("#") {
            return .failure(ConfigValueError("must not contain a query or fragment"))
        }
        if text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            return .failure(ConfigValueError("must not contain spaces or control characters"))
        }
        var prefix = Substring(text)
        while prefix.count > 1 && prefix.hasSuffix("/") { prefix = prefix.dropLast() }
        return .success(String(prefix))
    }

    /// RFC 8707: an absolute URI without a fragment (Logto API identifiers are URLs).
    static func resourceProblem(_ text: String) -> String? {
        if text.contains("#") { return "must not contain a fragment (RFC 8707)" }
        if text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            return "must not contain spaces or control characters"
        }
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            return "must be an absolute URI (RFC 8707), e.g. https://api.example.com"
        }
        let scheme = text[..<colon].utf8
        let isScheme = scheme.first.map(isASCIILetter) == true
            && scheme.allSatisfy { isASCIILetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E }
        return isScheme && text.index(after: colon) != text.endIndex
            ? nil : "must be an absolute URI (RFC 8707), e.g. https://api.example.com"
    }

    /// RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ).
    static func scopeProblem(_ scope: String) -> String? {
        if scope.isEmpty { return "must not be empty" }
        if scope.contains(" ") { return "must not contain spaces (list each scope separately)" }
        let valid = scope.utf8.allSatisfy { $0 == 0x21 || (0x23...0x5B).contains($0) || (0x5D...0x7E).contains($0) }
        return valid ? nil : "must not contain quotes, backslashes, control or non-ASCII characters (RFC 6749 §3.3)"
    }

    /// RFC 9110 tchar.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        isASCIILetter(byte) || (byte >= 0x30 && byte <= 0x39) || "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }

    private static func isASCIILetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}
