import Foundation
import Testing

/// Against a real OAuth2 server (Glewlwyd via scripts/real-idp-up.sh; see shared NOTES): the
/// proxy's token requests are accepted, the JWT it injects has aud = resource and sub = client
/// id, and many requests cost one token. Glewlwyd must be installed (scripts/install-deps.sh test).
@Suite struct RealIdPTests {
    static let scopes = "read:products write:products"

    @Test func idpIssuesTokenDirectly() throws {
        let idp = try RealIdP(clientID: "m2m-direct", clientSecret: "s3cret", scopes: Self.scopes)
        defer { idp.stop() }
        let url = try #require(URL(string: idp.tokenEndpoint))
        let form = "grant_type=client_credentials&scope=read%3Aproducts&resource=https%3A%2F%2Fshopping.api"
        let basic = Data("m2m-direct:s3cret".utf8).base64EncodedString()
        let c = try RawHTTPConnection(port: UInt16(url.port!))
        try c.send("POST \(url.path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic \(basic)\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        let token = try #require(r.json?["access_token"] as? String)
        let payload = try #require(JWT.payload(token))
        #expect(payload["aud"] as? String == "https://shopping.api")
        #expect(payload["sub"] as? String == "m2m-direct")
        #expect((r.json?["token_type"] as? String)?.lowercased() == "bearer")
        #expect(idp.tokensIssued() == 1)
    }

    @Test func proxyInjectsRealJWTAndFetchesOnce() throws {
        let idp = try RealIdP(clientID: "m2m-client", clientSecret: "s3cret", scopes: Self.scopes)
        defer { idp.stop() }
        // A second client registered with the form-encoded id and secret (NOTES.md quirk 4):
        // it only authenticates if the proxy form-encodes before base64 (RFC 6749 §2.3.1).
        _ = try idp.admin(["add-client", "enc-client", "p%2Bq%25r%3As", "read:products"])
        let dir = try TempDir("realidp")
        let up = try UpstreamFixture(in: dir)
        var config = TestConfig(listenPort: try FreePort.pick())
        config.credentials = [
            .init(name: "glewlwyd", tokenURL: idp.tokenEndpoint, clientID: "m2m-client", clientSecret: "s3cret"),
            .init(name: "encoded", tokenURL: idp.tokenEndpoint, clientID: "enc-client", clientSecret: "p+q%r:s"),
        ]
        config.routes = [
            .init(name: "shopping", pathPrefix: "/products", upstream: up.url, credential: "glewlwyd",
                  resource: "https://shopping.api", scopes: ["write:products", "read:products"]),
            .init(name: "encoded", pathPrefix: "/enc", upstream: up.url, credential: "encoded",
                  resource: "https://shopping.api", scopes: ["read:products"]),
        ]
        let proxy = try ProxyProcess(config: config, in: dir)
        let c = try proxy.connect()
        for i in 0..<25 {
            try c.send("GET /products/\(i) HTTP/1.1\r\nHost: shop.internal\r\n\r\n")
            let r = try c.readResponse()
            #expect(r.status == 200, "\(r.summary)")
        }
        let log = try up.requests()
        #expect(log.count == 25)
        let token = try #require(JWT.bearer(log.first?.header("Authorization")))
        let payload = try #require(JWT.payload(token))
        #expect(payload["aud"] as? String == "https://shopping.api")
        #expect(payload["sub"] as? String == "m2m-client")
        #expect(Set(log.map { $0.header("Authorization") }).count == 1)
        #expect(idp.tokensIssued(to: "m2m-client") == 1)

        try c.send("GET /enc/1 HTTP/1.1\r\nHost: shop.internal\r\n\r\n")
        let enc = try c.readResponse()
        #expect(enc.status == 200, "form-encoded Basic credentials: \(enc.summary)")
        #expect(idp.tokensIssued(to: "enc-client") == 1)
    }

    /// DESIGN.md §5 against the real server with a short lifetime (4 s: refresh at 2 s, last send
    /// at 3 s): under steady traffic the upstream, which checks every token's `exp` like a
    /// resource server, never sees an expired token, no request fails, and refreshes happen.
    @Test func shortLifetimeNeverDeliversAnExpiredToken() throws {
        let idp = try RealIdP(clientID: "m2m-short", clientSecret: "s3cret", scopes: Self.scopes, ttl: 4)
        defer { idp.stop() }
        let up = try ScriptFixture("token_checking_upstream.py", label: "realidp-checking")
        var config = TestConfig(listenPort: try FreePort.pick())
        config.credentials = [.init(name: "glewlwyd", tokenURL: idp.tokenEndpoint, clientID: "m2m-short", clientSecret: "s3cret")]
        config.routes = [.init(name: "api", upstream: up.url, credential: "glewlwyd", resource: "https://shopping.api", scopes: ["read:products"])]
        let dir = try TempDir("realidp-short")
        let proxy = try ProxyProcess(config: config, in: dir)
        var statuses: [Int] = []
        let end = Date().addingTimeInterval(9)
        while Date() < end {
            let c = try proxy.connect()
            try c.send("GET /p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            statuses.append(try c.readResponse().status)
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 })")
        let stats = try up.getJSON("/_stats")
        #expect(stats["expired"] as? Int == 0)
        #expect(stats["missing"] as? Int == 0)
        let issued = idp.tokensIssued()
        #expect(issued >= 3 && issued <= 6, "tokens issued: \(issued)")
    }

}
