/// One test's world: a scratch directory, the recording upstream, the token double and the
/// proxy, each on its own port. Everything is stopped when the bed is released.
final class ProxyTestBed {
    let dir: TempDir
    let upstream: UpstreamFixture
    let tokens: TokenDouble
    let proxy: ProxyProcess
    let config: TestConfig

    /// Default credential used by `tokenRoute`: name "idp", id/secret below.
    static let clientID = "itest-client"
    static let clientSecret = "itest-secret"

    /// `configure` receives a config with only `listen` set, plus the bed (whose `upstream`
    /// and `tokens` are running) so it can point routes at them.
    init(
        tokenMode: TokenMode? = nil, label: String = "bed",
        _ configure: (inout TestConfig, _ upstream: UpstreamFixture, _ tokens: TokenDouble) throws -> Void
    ) throws {
        dir = try TempDir(label)
        upstream = try UpstreamFixture(in: dir)
        tokens = try TokenDouble(in: dir, mode: tokenMode)
        var config = TestConfig(listenPort: try FreePort.pick())
        try configure(&config, upstream, tokens)
        self.config = config
        proxy = try ProxyProcess(config: config, in: dir)
    }

    /// The usual single-credential setup: credential "idp" at the double, one route for "/"
    /// with a resource and scopes, optional limits.
    convenience init(
        tokenMode: TokenMode? = nil, limits: [String: Int] = [:], resource: String = "https://api.test",
        scopes: [String] = ["read"], label: String = "bed"
    ) throws {
        try self.init(tokenMode: tokenMode, label: label) { c, up, tok in
            c.limits = limits
            c.credentials = [Self.credential(tok)]
            c.routes = [.init(name: "main", upstream: up.url, credential: "idp", resource: resource, scopes: scopes)]
        }
    }

    static func credential(_ tokens: TokenDouble, name: String = "idp") -> TestConfig.Credential {
        .init(name: name, tokenURL: tokens.tokenURL, clientID: clientID, clientSecret: clientSecret)
    }

    func connect(timeout: Double = 10) throws -> RawHTTPConnection { try proxy.connect(timeout: timeout) }

    /// Sends `raw` on a fresh connection and reads one response.
    func exchange(_ raw: String, head: Bool = false, timeout: Double = 10) throws -> HTTPResponse {
        let c = try connect(timeout: timeout)
        try c.send(raw)
        return try c.readResponse(head: head)
    }

    /// `GET path` with Host `host` on a fresh connection.
    func get(_ path: String, host: String = "client.test", extraHeaders: String = "") throws -> HTTPResponse {
        try exchange("GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\(extraHeaders)Connection: close\r\n\r\n")
    }
}
