/// Parses `[token_store] url`: `redis://host[:port][/db]`, `rediss://host[:port][/db]` or
/// `redis-sentinel://s1[:port],s2[:port]/master[/db]`. Messages never repeat the URL (it could
/// hold a password, which belongs in `password` / `password_file`).
enum StoreURLParser {
    struct Parsed: Equatable {
        let mode: TokenStoreConfig.Mode
        let endpoints: [TokenStoreConfig.Endpoint]
        let database: Int
    }

    static func parse(_ text: String) -> Result<Parsed, ConfigValueError> {
        guard let separator = text.firstRange(of: "://") else {
            return .failure(ConfigValueError("must be a URL like redis://host:6379/0, rediss://host:6380/0 or redis-sentinel://s1:26379,s2:26379/mymaster"))
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        let rest = text[separator.upperBound...]
        guard ["redis", "rediss", "redis-sentinel"].contains(scheme) else {
            return .failure(ConfigValueError("scheme must be redis, rediss or redis-sentinel"))
        }
        if rest.contains("?") || rest.contains("#") {
            return .failure(ConfigValueError("must not contain a query or fragment"))
        }
        let pathStart = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<pathStart]
        if authority.contains("@") {
            return .failure(ConfigValueError("must not contain user info: set username and password (or password_file) instead"))
        }
        let segments = rest[pathStart...].split(separator: "/", omittingEmptySubsequences: true)
        let defaultPort: UInt16 = scheme == "redis-sentinel" ? 26379 : 6379
        var endpoints: [TokenStoreConfig.Endpoint] = []
        let hostList = authority.split(separator: ",", omittingEmptySubsequences: false)
        if hostList.count > 1 && scheme != "redis-sentinel" {
            return .failure(ConfigValueError("several hosts are only for redis-sentinel:// (the sentinels)"))
        }
        for h in hostList {
            switch endpoint(h, defaultPort: defaultPort) {
            case .success(let e): endpoints.append(e)
            case .failure(let e): return .failure(e)
            }
        }
        var dbText: Substring?
        let mode: TokenStoreConfig.Mode
        if scheme == "redis-sentinel" {
            guard let name = segments.first, !name.isEmpty else {
                return .failure(ConfigValueError("redis-sentinel:// needs the primary's name as its path (redis-sentinel://s1:26379,s2:26379/mymaster)"))
            }
            guard segments.count <= 2 else { return .failure(ConfigValueError("path must be /master or /master/db")) }
            mode = .sentinel(masterName: String(name))
            dbText = segments.count == 2 ? segments[1] : nil
        } else {
            guard segments.count <= 1 else { return .failure(ConfigValueError("path must be the database number (/0)")) }
            mode = scheme == "rediss" ? .tls : .standalone
            dbText = segments.first
        }
        var database = 0
        if let dbText {
            guard dbText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(dbText), n <= 1_000_000 else {
                return .failure(ConfigValueError("database must be a number (/0)"))
            }
            database = n
        }
        return .success(Parsed(mode: mode, endpoints: endpoints, database: database))
    }

    private static func endpoint(_ text: Substring, defaultPort: UInt16) -> Result<TokenStoreConfig.Endpoint, ConfigValueError> {
        var host: String
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let closing = text.firstIndex(of: "]"),
                  let canonical = IPAddressText.canonicalIPv6(String(text[text.index(after: text.startIndex)..<closing]))
            else { return .failure(ConfigValueError("invalid IPv6 address")) }
            host = canonical
            let after = text[text.index(after: closing)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { return .failure(ConfigValueError("invalid host")) }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return .failure(ConfigValueError("invalid host (an IPv6 address must be in brackets)")) }
            host = parts[0].lowercased()
            portText = parts.count == 2 ? parts[1] : nil
            guard !host.isEmpty else { return .failure(ConfigValueError("host is missing")) }
            guard EndpointURLParser.isValidHostName(host) else { return .failure(ConfigValueError("invalid host")) }
        }
        var port = defaultPort
        if let portText {
            guard let p = EndpointURLParser.parsePort(portText) else { return .failure(ConfigValueError("port must be 1-65535")) }
            port = p
        }
        return .success(TokenStoreConfig.Endpoint(host: host, port: port))
    }
}
