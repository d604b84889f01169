import Foundation
import Testing

/// The fixtures and harness on their own (no proxy): these pass before the proxy exists and
/// prove that a failing proxy test is the proxy's fault.
@Suite struct FixtureSelfTests {
    @Test func upstreamEchoesAndRecords() throws {
        let dir = try TempDir("fixture")
        let up = try UpstreamFixture(in: dir)
        let c = try RawHTTPConnection(port: up.port)
        let body = Array("hello, upstream".utf8)
        try c.send("POST /echo?x=1 HTTP/1.1\r\nHost: a.test\r\nX-One: 1\r\nContent-Length: \(body.count)\r\n\r\n")
        try c.send(body)
        let r = try c.readResponse()
        #expect(r.status == 200)
        #expect(r.body == body)
        // chunked request body, same connection
        try c.send("POST /echo HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\n\r\n")
        let r2 = try c.readResponse()
        #expect(r2.bodyText == "helloabc")
        let log = try up.requests()
        try #require(log.count == 2)
        #expect(log[0].method == "POST")
        #expect(log[0].target == "/echo?x=1")
        #expect(log[0].version == "HTTP/1.1")
        #expect(log[0].headers.first == ["Host", "a.test"])
        #expect(log[0].header("x-one") == "1")
        #expect(log[0].bodyLen == body.count)
        #expect(log[0].bodySha256 == SHA256.hex(body))
        #expect(log[1].bodySha256 == SHA256.hex(Array("helloabc".utf8)))
        #expect(log[0].remotePort == log[1].remotePort)
        #expect(log[0].connIndex == 0 && log[1].connIndex == 1)
    }

    @Test func upstreamBytesInAllFramings() throws {
        let dir = try TempDir("fixture")
        let up = try UpstreamFixture(in: dir)
        let n = 300_000
        let expected = SHA256.hex(UpstreamFixture.pattern(n))
        for (query, framing) in [("", "length"), ("&chunked=1", "chunked"), ("&close=1", "close")] {
            let c = try RawHTTPConnection(port: up.port)
            try c.send("GET /bytes?n=\(n)\(query) HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try c.readResponse()
            #expect(r.framing == framing)
            #expect(r.body.count == n)
            #expect(SHA256.hex(r.body) == expected)
        }
    }

    @Test func upstreamPipeliningHeadStatusInfo() throws {
        let dir = try TempDir("fixture")
        let up = try UpstreamFixture(in: dir)
        let c = try RawHTTPConnection(port: up.port)
        try c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\nGET /status/204 HTTP/1.1\r\nHost: x\r\n\r\nGET /info HTTP/1.1\r\nHost: x\r\n\r\n")
        let a = try c.readResponse()
        let b = try c.readResponse(head: true)
        let s = try c.readResponse()
        let i = try c.readResponse()
        #expect(a.json?["path"] as? String == "/a")
        #expect(b.status == 200 && b.body.isEmpty && b.header("Content-Length") != nil)
        #expect(s.status == 204)
        #expect(i.interim.map(\.status) == [103])
        #expect(i.interim.first?.header("Link") == "</a>; rel=preload")
        #expect(i.status == 200)
        #expect(Set(try up.requests().map(\.remotePort)).count == 1)
    }

    @Test func upstreamResetAndHang() throws {
        let dir = try TempDir("fixture")
        let up = try UpstreamFixture(in: dir)
        let c = try RawHTTPConnection(port: up.port)
        try c.send("GET /reset HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try c.waitForPeerClose(timeout: 5))
        let h = try RawHTTPConnection(port: up.port)
        try h.send("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try !h.waitForPeerClose(timeout: 0.3))
    }

    @Test func tokenDoubleIssuesCountsAndFails() throws {
        let dir = try TempDir("fixture")
        let tok = try TokenDouble(in: dir)
        let form = "grant_type=client_credentials&resource=https%3A%2F%2Fapi.test&scope=a%20b"
        let basic = Data("my%2Bid:pw".utf8).base64EncodedString()
        let c = try RawHTTPConnection(port: tok.port)
        try c.send("POST /oidc/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(basic)\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)")
        let r = try c.readResponse()
        #expect(r.status == 200)
        let token = try #require(r.json?["access_token"] as? String)
        #expect(r.json?["expires_in"] as? Int == 3600)
        let payload = try #require(JWT.payload(token))
        #expect(payload["aud"] as? String == "https://api.test")
        #expect(payload["sub"] as? String == "my+id")
        #expect(payload["scope"] as? String == "a b")
        try c.send("POST /oidc/token HTTP/1.1\r\nHost: x\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)")
        let second = try #require(try c.readResponse().json?["access_token"] as? String)
        #expect(second != token)
        #expect(try tok.tokenRequestCount() == 2)
        let log = try tok.requests()
        #expect(log.first?.bodyLatin1 == form)
        #expect(log.first?.header("Authorization") == "Basic \(basic)")
        #expect(try tok.issuedTokens() == [token, second])

        try tok.setMode(TokenMode(status: 400, retryAfter: "7", error: "invalid_target"))
        try c.send("POST /oidc/token HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        let e = try c.readResponse()
        #expect(e.status == 400 && e.errorCode == "invalid_target" && e.header("Retry-After") == "7")
        #expect(try tok.tokenRequestCount() == 3)
    }

    @Test func harnessFindsFixturesAndBinaryCandidates() throws {
        #expect(FileManager.default.fileExists(atPath: TestPaths.fixture("upstream.py")))
        #expect(FileManager.default.fileExists(atPath: TestPaths.script("real-idp-up.sh")))
        // Under `swift test` the first candidate is the directory of the test bundle, where
        // SwiftPM also puts the m2m-proxy executable.
        let first = try #require(TestPaths.binaryCandidates().first)
        #expect(first.hasSuffix("/m2m-proxy"))
    }

    @Test func sha256KnownAnswers() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(UpstreamFixture.pattern(1000)) == "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d")
    }
}

extension FixtureSelfTests {
    @Test func blackholeListenerMakesConnectsHang() throws {
        let hole = try BlackholeListener()
        #expect(!BlackholeListener.connects(port: hole.port, withinMs: 500))
    }
}

/// The upstream paths used by RetryTests, ResponseFramingTests and BackpressureTests.
extension FixtureSelfTests {
    @Test func upstreamCloseNextDropsTheFollowingRequest() throws {
        let dir = try TempDir("fixture")
        let up = try UpstreamFixture(in: dir)
        let c = try RawHTTPConnection(port: up.port)
        try c.send("GET /close-next HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try c.readResponse().status == 200)
        try c.send("POST /next HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        #expect(try c.readUntilClose(timeout: 5).isEmpty)
        let log = try up.requests()
        #expect(log.map(\.path) == ["/close-next", "/next"])
        #expect(log.map(\.dropped) == [nil, true])
        #expect(log.last?.bodyLen == 3)
    }

    @Test(arguments: [false, true])
    func upstreamTruncateStopsShort(chunked: Bool) throws {
        let dir = try TempDir("fixture")
        let up = try UpstreamFixture(in: dir)
        let c = try RawHTTPConnection(port: up.port)
        try c.send("GET /truncate?n=1000&send=100\(chunked ? "&chunked=1" : "") HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try c.readInterimHead()
        #expect(head.header(chunked ? "Transfer-Encoding" : "Content-Length") == (chunked ? "chunked" : "1000"))
        let rest = try c.readUntilClose(timeout: 5)
        #expect(rest == (chunked ? Array("3e8\r\n".utf8) : []) + UpstreamFixture.pattern(100))
    }

    @Test func upstreamSlowreadHashesTheBody() throws {
        let dir = try TempDir("fixture")
        let up = try UpstreamFixture(in: dir)
        let n = 300_000
        let c = try RawHTTPConnection(port: up.port)
        try c.send("POST /slowread?chunk=65536&ms=10&slow_ms=100 HTTP/1.1\r\nHost: x\r\nContent-Length: \(n)\r\n\r\n")
        try PatternStream.send(n, on: c)
        let r = try c.readResponse()
        let expected = SHA256.hex(UpstreamFixture.pattern(n))
        #expect(r.json?["len"] as? Int == n)
        #expect(r.json?["sha256"] as? String == expected)
        #expect(try PatternStream.sha256(n, in: dir) == expected)
        #expect(try up.lastRequest().bodySha256 == expected)
    }
}
