import Foundation

/// `Tests/Fixtures/token_double.py`, an OAuth2 token endpoint double on 127.0.0.1:<free port>.
final class TokenDouble {
    let process: ChildProcess
    let port: UInt16
    let logPath: String

    /// The HTTPS port when started with `tls:` (the plain port stays for /_mode and /_stats).
    private(set) var tlsPort: UInt16?

    init(in dir: TempDir, mode: TokenMode? = nil, tls: (cert: String, key: String)? = nil) throws {
        logPath = dir.file("token-double.jsonl")
        var args = [TestPaths.fixture("token_double.py"), "--port", "0", "--log", logPath]
        if let mode { args += ["--mode", mode.json] }
        if let tls { args += ["--tls-cert", tls.cert, "--tls-key", tls.key] }
        process = try ChildProcess(name: "token-double", executable: TestPaths.python, arguments: args, in: dir)
        if tls != nil {
            let text = try process.waitForStdoutValue("TLS_PORT")
            guard let p = UInt16(text) else { throw HarnessError("token double printed a bad TLS port: \(text)") }
            tlsPort = p
        }
        let text = try process.waitForStdoutValue("PORT")
        guard let p = UInt16(text) else { throw HarnessError("token double printed a bad port: \(text)") }
        port = p
    }

    /// What goes in `token_url`.
    var tokenURL: String { "http://127.0.0.1:\(port)/oidc/token" }

    /// `token_url` of the HTTPS endpoint (started with `tls:`).
    var tlsTokenURL: String { "https://localhost:\(tlsPort ?? 0)/oidc/token" }

    func setMode(_ mode: TokenMode) throws {
        let body = mode.json
        let c = try RawHTTPConnection(port: port)
        try c.send("POST /_mode HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        let r = try c.readResponse()
        guard r.status == 200 else { throw HarnessError("token double refused mode: \(r.summary)") }
    }

    /// `GET /_stats` → number of token requests received so far.
    func tokenRequestCount() throws -> Int {
        let c = try RawHTTPConnection(port: port)
        try c.send("GET /_stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        guard let n = try c.readResponse().json?["token_requests"] as? Int else {
            throw HarnessError("token double /_stats answered no count")
        }
        return n
    }

    func requests() throws -> [TokenRequest] { try JSONLines.decode(TokenRequest.self, file: logPath) }

    /// Every access token the double has handed out.
    func issuedTokens() throws -> [String] { try requests().compactMap(\.issuedToken) }
}
