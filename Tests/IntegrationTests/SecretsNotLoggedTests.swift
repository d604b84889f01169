import Foundation
import Testing

/// Neither the client secret, nor any issued token, nor a client's Authorization value appears
/// in the proxy's output (stderr log and stdout access log), nor in the admin answers, across
/// successes and failures (DESIGN.md §5, §6, STYLE.md §9).
@Suite struct SecretsNotLoggedTests {
    @Test func secretsAndTokensNeverLogged() throws {
        let secret = "S3cr3t-do-NOT-log-7f3a9c"
        let clientAuth = "client-bearer-do-NOT-log-51e2"
        let dead = try FreePort.pick()
        var adminPort: UInt16 = 0
        let bed = try ProxyTestBed(label: "secrets") { c, up, tok in
            adminPort = try c.enableAdmin()
            c.limits = ["token_wait_ms": 1000]
            c.credentials = [.init(name: "idp", tokenURL: tok.tokenURL, clientID: "secret-test-client", clientSecret: secret)]
            c.routes = [
                .init(name: "ok", pathPrefix: "/ok", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"]),
                .init(name: "other", pathPrefix: "/other", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["write"]),
                .init(name: "dead", pathPrefix: "/dead", upstream: "http://127.0.0.1:\(dead)", credential: "idp", resource: "https://api.test", scopes: ["read"]),
                .init(name: "plain", pathPrefix: "/plain", upstream: up.url),
            ]
        }
        for _ in 0..<3 { #expect(try bed.get("/ok/x").status == 200) }
        #expect(try bed.get("/dead/x").status == 502)
        #expect(try bed.get("/plain/x", extraHeaders: "Authorization: Bearer \(clientAuth)\r\n").status == 200)
        #expect(try bed.get("/ok/y?access_token=\(clientAuth)", extraHeaders: "Authorization: Bearer \(clientAuth)\r\nX-Request-Id: r-1\r\n").status == 200)
        #expect(try bed.get("/dead/y", extraHeaders: "Authorization: Bearer \(clientAuth)\r\n").status == 502)
        #expect(try bed.get("/nowhere").status == 404)
        // The same over HTTP/2 (prior knowledge), a gRPC error among them.
        for (path, extra) in [("/ok/h2", [String]()), ("/plain/h2", []), ("/dead/h2", []),
                              ("/nowhere/h2", ["-H", "content-type: application/grpc", "--data-binary", ""])] {
            let h2 = try ChildProcess(
                name: "curl-h2", executable: "/usr/bin/curl",
                arguments: ["-sS", "--http2-prior-knowledge", "-o", "/dev/null", "-H", "Authorization: Bearer \(clientAuth)"]
                    + extra + ["http://127.0.0.1:\(bed.proxy.port)\(path)"],
                in: bed.dir)
            #expect(h2.waitForExit(timeout: 20) == 0, "\(h2.stderr)")
        }
        // A failing fetch for a second key, with an error body from the endpoint.
        try bed.tokens.setMode(TokenMode(status: 401, error: "invalid_client"))
        let failed = try bed.get("/other/x")
        #expect(failed.status == 503)
        #expect(!failed.bodyText.contains(secret))

        let admin = try AdminClient(port: adminPort)
        #expect(try admin.post("/tokens/refresh?route=ok").status == 503)  // the endpoint now refuses
        let adminText = try ["/tokens", "/metrics", "/readyz"].map { try admin.get($0).bodyText }.joined(separator: "\n")
            + (try admin.post("/tokens/refresh?route=other").bodyText)

        bed.proxy.process.stop()  // SIGTERM: let it flush whatever it logs at exit
        #expect(bed.proxy.accessLog.count >= 8, "the access log is on by default")
        let output = bed.proxy.output + adminText
        let tokens = try bed.tokens.issuedTokens()
        #expect(!tokens.isEmpty)
        #expect(!output.contains(secret), "the client secret was logged")
        #expect(!output.contains(Data("secret-test-client:\(secret)".utf8).base64EncodedString()), "the Basic credential was logged")
        #expect(!output.contains(clientAuth), "a client's Authorization value was logged")
        for token in tokens {
            #expect(!output.contains(token), "an issued token was logged")
            let signature = String(token.split(separator: ".").last!)
            #expect(!output.contains(signature), "a token signature was logged")
        }
    }

    /// The token store's password (inline or from a file) is never logged: not while the store
    /// is unreachable (outage line), not by `check`. TokenStoreTests covers a store that refuses
    /// it (WRONGPASS).
    @Test func tokenStorePasswordNeverLogged() throws {
        let password = "Store-PW-do-NOT-log-55e1"
        let closed = try FreePort.pick()
        let bed = try ProxyTestBed(label: "secrets-store") { c, up, tok in
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(name: "main", upstream: up.url, credential: "idp", resource: "https://api.test")]
            c.tokenStore = ["url": TestConfig.quote("redis://127.0.0.1:\(closed)/0"), "username": "\"proxy\"",
                            "password": TestConfig.quote(password)]
        }
        #expect(try bed.get("/x").status == 200)
        try Wait.until("the store outage in the log", timeout: 5) { bed.proxy.output.contains("token store") }
        let check = try ProxyProcess.runToExit(["check", "--config", bed.proxy.configPath], in: bed.dir)
        bed.proxy.process.stop()
        #expect(!(bed.proxy.output + check.stdout + check.stderr).contains(password), "the token store password was logged")
    }
}
