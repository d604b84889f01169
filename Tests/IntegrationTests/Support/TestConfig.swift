/// Builds a `proxy.conf` (TOML, keys exactly as DESIGN.md §3) for one test.
struct TestConfig {
    struct Credential {
        var name: String
        var tokenURL: String
        var clientID: String
        var clientSecret: String? = nil
        var clientSecretFile: String? = nil
        var authMethod: String? = nil
        var prefetch: Bool? = nil
        /// Extra keys as raw TOML values (e.g. `"tls_ca_file": "\"/ca.pem\""`).
        var extra: [String: String] = [:]
    }

    struct Route {
        var name: String? = nil
        var host: String? = nil
        var pathPrefix: String? = nil
        var methods: [String]? = nil
        var upstream: String
        /// Several endpoints: written as a list instead of `upstream`.
        var upstreams: [String]? = nil
        var credential: String? = nil
        var resource: String? = nil
        var scopes: [String]? = nil
        var organizationID: String? = nil
        var preserveHost: Bool? = nil
        /// Raw TOML for `allow_cidrs` (e.g. `["10.0.0.0/8"]`).
        var allowCIDRs: String? = nil
        /// Any other keys, as raw TOML values (e.g. `"max_upstream_connections": "2"`).
        var extra: [String: String] = [:]
    }

    /// `[server] listen`; nil leaves the key out.
    var listen: String?
    /// Extra `[server]` keys, as raw TOML values (e.g. `"workers": "2"`). One worker loop by
    /// default (the proxy's own default is one per core): access-log order across requests on
    /// different connections and per-loop limits such as max_connections are then deterministic.
    /// WorkersTests runs two.
    var server: [String: String] = ["admin_listen": "\"\"", "workers": "1"]
    /// `[limits]` keys.
    var limits: [String: Int] = [:]
    var credentials: [Credential] = []
    var routes: [Route] = []
    /// `[token_store]` keys as raw TOML values (e.g. `"url": "\"redis://127.0.0.1:6379/0\""`);
    /// empty leaves the section out.
    var tokenStore: [String: String] = [:]

    init(listenPort: UInt16?) {
        listen = listenPort.map { "127.0.0.1:\($0)" }
    }

    var toml: String {
        var out = ["[server]"]
        if let listen { out.append("listen = \(Self.quote(listen))") }
        for (k, v) in server.sorted(by: { $0.key < $1.key }) { out.append("\(k) = \(v)") }
        if !limits.isEmpty {
            out.append("\n[limits]")
            for (k, v) in limits.sorted(by: { $0.key < $1.key }) { out.append("\(k) = \(v)") }
        }
        if !tokenStore.isEmpty {
            out.append("\n[token_store]")
            for (k, v) in tokenStore.sorted(by: { $0.key < $1.key }) { out.append("\(k) = \(v)") }
        }
        for c in credentials {
            out.append("\n[credential.\(c.name)]")
            out.append("token_url = \(Self.quote(c.tokenURL))")
            out.append("client_id = \(Self.quote(c.clientID))")
            if let s = c.clientSecret { out.append("client_secret = \(Self.quote(s))") }
            if let f = c.clientSecretFile { out.append("client_secret_file = \(Self.quote(f))") }
            if let m = c.authMethod { out.append("auth_method = \(Self.quote(m))") }
            if let p = c.prefetch { out.append("prefetch = \(p)") }
            for (k, v) in c.extra.sorted(by: { $0.key < $1.key }) { out.append("\(k) = \(v)") }
        }
        for r in routes {
            out.append("\n[[route]]")
            if let v = r.name { out.append("name = \(Self.quote(v))") }
            if let v = r.host { out.append("host = \(Self.quote(v))") }
            if let v = r.pathPrefix { out.append("path_prefix = \(Self.quote(v))") }
            if let v = r.methods { out.append("methods = \(Self.array(v))") }
            out.append("upstream = \(r.upstreams.map(Self.array) ?? Self.quote(r.upstream))")
            if let v = r.credential { out.append("credential = \(Self.quote(v))") }
            if let v = r.resource { out.append("resource = \(Self.quote(v))") }
            if let v = r.scopes { out.append("scopes = \(Self.array(v))") }
            if let v = r.organizationID { out.append("organization_id = \(Self.quote(v))") }
            if let v = r.preserveHost { out.append("preserve_host = \(v)") }
            if let v = r.allowCIDRs { out.append("allow_cidrs = \(v)") }
            for (k, v) in r.extra.sorted(by: { $0.key < $1.key }) { out.append("\(k) = \(v)") }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// A TOML basic string.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    static func array(_ items: [String]) -> String { "[" + items.map(quote).joined(separator: ", ") + "]" }
}
