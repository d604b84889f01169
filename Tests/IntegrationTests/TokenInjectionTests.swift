import Foundation
import Testing

/// The Bearer token reaches the upstream, the token request is exactly right, and tokens are
/// shared and reused (DESIGN.md §4, §5).
@Suite struct TokenInjectionTests {
    @Test func bearerTokenFromEndpointIsInjected() throws {
        let bed = try ProxyTestBed()
        let r = try bed.get("/data")
        #expect(r.status == 200, "\(r.summary)")
        let issued = try bed.tokens.issuedTokens()
        try #require(issued.count == 1)
        let req = try bed.upstream.lastRequest()
        #expect(req.headerValues("Authorization") == ["Bearer \(issued[0])"])
    }

    @Test func clientAuthorizationReplacedOnTokenRoutesKeptOnPlainRoutes() throws {
        let bed = try ProxyTestBed(label: "authz") { c, up, tok in
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [
                .init(pathPrefix: "/token", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"]),
                .init(pathPrefix: "/plain", upstream: up.url),
            ]
        }
        _ = try bed.get("/token/x", extraHeaders: "Authorization: Bearer client-own-token\r\n")
        let issued = try #require(try bed.tokens.issuedTokens().first)
        #expect(try bed.upstream.lastRequest().headerValues("Authorization") == ["Bearer \(issued)"])
        _ = try bed.get("/plain/x", extraHeaders: "Authorization: Bearer client-own-token\r\n")
        #expect(try bed.upstream.lastRequest().headerValues("Authorization") == ["Bearer client-own-token"])
        _ = try bed.get("/plain/y")
        #expect(try bed.upstream.lastRequest().headerValues("Authorization") == [])
    }

    @Test func tokenRequestBytesWithBasicAuth() throws {
        let secret = "a+b%c:d e"
        let bed = try ProxyTestBed(label: "basic") { c, up, tok in
            c.credentials = [.init(name: "idp", tokenURL: tok.tokenURL, clientID: "id", clientSecret: secret)]
            // Scopes deliberately unsorted: the request carries them sorted.
            c.routes = [.init(upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["b", "a"])]
        }
        #expect(try bed.get("/x").status == 200)
        let req = try #require(try bed.tokens.requests().first)
        #expect(req.method == "POST")
        #expect(req.path == "/oidc/token")
        let expectedBasic = Data("id:a%2Bb%25c%3Ad%20e".utf8).base64EncodedString()
        #expect(req.header("Authorization") == "Basic \(expectedBasic)")
        #expect(req.header("Content-Type")?.hasPrefix("application/x-www-form-urlencoded") == true)
        #expect(req.bodyLatin1 == "grant_type=client_credentials&resource=https%3A%2F%2Fapi.test&scope=a%20b")
        #expect(!req.bodyLatin1.contains("client_secret"))
    }

    @Test func tokenRequestWithClientSecretPost() throws {
        let bed = try ProxyTestBed(label: "post") { c, up, tok in
            c.credentials = [.init(name: "idp", tokenURL: tok.tokenURL, clientID: "post-client", clientSecret: "a+b%c:d e", authMethod: "client_secret_post")]
            c.routes = [.init(upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        #expect(try bed.get("/x").status == 200)
        let req = try #require(try bed.tokens.requests().first)
        #expect(req.header("Authorization") == nil)
        let pairs = Set(req.formPairs)
        #expect(pairs.contains("grant_type=client_credentials"))
        #expect(pairs.contains("client_id=post-client"))
        #expect(pairs.contains("client_secret=a%2Bb%25c%3Ad%20e"))
        #expect(pairs.contains("resource=https%3A%2F%2Fapi.test"))
        #expect(pairs.contains("scope=read"))
    }

    @Test func secretFromFileHasTrailingNewlineStripped() throws {
        let secrets = try TempDir("secret")
        let file = try secrets.write("secret", "file-secret\n")
        let bed = try ProxyTestBed(label: "secretfile") { c, up, tok in
            c.credentials = [.init(name: "idp", tokenURL: tok.tokenURL, clientID: "id", clientSecretFile: file)]
            c.routes = [.init(upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        #expect(try bed.get("/x").status == 200)
        let req = try #require(try bed.tokens.requests().first)
        #expect(req.header("Authorization") == "Basic \(Data("id:file-secret".utf8).base64EncodedString())")
    }

    @Test func noResourceNoScopesMeansNoParameters() throws {
        let bed = try ProxyTestBed(label: "noparams") { c, up, tok in
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(upstream: up.url, credential: "idp")]
        }
        #expect(try bed.get("/x").status == 200)
        #expect(try bed.tokens.requests().first?.bodyLatin1 == "grant_type=client_credentials")
    }

    @Test func organizationIDIsSent() throws {
        let bed = try ProxyTestBed(label: "org") { c, up, tok in
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"], organizationID: "org_123")]
        }
        #expect(try bed.get("/x").status == 200)
        #expect(try bed.tokens.requests().first?.formPairs.contains("organization_id=org_123") == true)
    }

    @Test func singleFlightForHundredConcurrentColdRequests() throws {
        // The slow endpoint keeps the first fetch in flight while all requests arrive.
        let bed = try ProxyTestBed(tokenMode: TokenMode(delayMs: 500))
        let connections = try (0..<100).map { _ in try bed.connect() }
        for (i, c) in connections.enumerated() {
            try c.send("GET /sf/\(i) HTTP/1.1\r\nHost: client.test\r\n\r\n")
        }
        for c in connections {
            let r = try c.readResponse()
            #expect(r.status == 200, "\(r.summary)")
        }
        #expect(try bed.tokens.tokenRequestCount() == 1)
        let issued = try bed.tokens.issuedTokens()
        #expect(Set(try bed.upstream.requests().flatMap { $0.headerValues("Authorization") }) == Set(issued.map { "Bearer \($0)" }))
    }

    @Test func tokenReusedAcrossRequests() throws {
        let bed = try ProxyTestBed()
        let c = try bed.connect()
        for i in 0..<30 {
            try c.send("GET /reuse/\(i) HTTP/1.1\r\nHost: client.test\r\n\r\n")
            #expect(try c.readResponse().status == 200)
        }
        for _ in 0..<10 { #expect(try bed.get("/fresh-connection").status == 200) }
        #expect(try bed.tokens.tokenRequestCount() == 1)
        #expect(Set(try bed.upstream.requests().flatMap { $0.headerValues("Authorization") }).count == 1)
    }

    @Test func routesWithSameKeyShareTokenDifferentScopesDoNot() throws {
        let bed = try ProxyTestBed(label: "share") { c, up, tok in
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [
                .init(name: "a", pathPrefix: "/a", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["x", "y"]),
                .init(name: "b", pathPrefix: "/b", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["y", "x"]),
                .init(name: "c", pathPrefix: "/c", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["x"]),
            ]
        }
        #expect(try bed.get("/a/1").status == 200)
        #expect(try bed.get("/b/1").status == 200)
        #expect(try bed.tokens.tokenRequestCount() == 1, "routes a and b have the same (credential, resource, scope set)")
        #expect(try bed.get("/c/1").status == 200)
        #expect(try bed.tokens.tokenRequestCount() == 2)
        let auth = try bed.upstream.requests().map { $0.header("Authorization") }
        #expect(auth[0] == auth[1])
        #expect(auth[2] != auth[0])
    }

    @Test func lowercaseTokenTypeStillSendsBearer() throws {
        let bed = try ProxyTestBed(tokenMode: TokenMode(tokenType: "bearer"))
        #expect(try bed.get("/x").status == 200)
        let token = try #require(try bed.tokens.issuedTokens().first)
        #expect(try bed.upstream.lastRequest().header("Authorization") == "Bearer \(token)")
    }
}
