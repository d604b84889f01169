import Testing

/// Forwarding on a route without a credential: HTTP versions, keep-alive, pipelining, target
/// forms, Expect, header rewriting and bodiless responses (DESIGN.md §2, §4).
@Suite struct ProxyBasicsTests {
    /// One plain route for everything, no token.
    static func plainBed(preserveHost: Bool? = nil, upstreamPath: String = "") throws -> ProxyTestBed {
        try ProxyTestBed(label: "basics") { c, up, _ in
            c.routes = [.init(name: "plain", upstream: up.url + upstreamPath, preserveHost: preserveHost)]
        }
    }

    @Test func servesWithConfigFlag() throws {
        let bed = try Self.plainBed()
        let r = try bed.get("/hello?x=1")
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.json?["path"] as? String == "/hello")
        #expect(r.header("X-Upstream") == "fixture")
        #expect(try bed.upstream.lastRequest().target == "/hello?x=1")
    }

    @Test func servesWithRunSubcommand() throws {
        let dir = try TempDir("run")
        let up = try UpstreamFixture(in: dir)
        var config = TestConfig(listenPort: try FreePort.pick())
        config.routes = [.init(upstream: up.url)]
        let proxy = try ProxyProcess(config: config, in: dir, useRunSubcommand: true)
        let c = try proxy.connect()
        try c.send("GET /via-run HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try c.readResponse().status == 200)
    }

    @Test func http10ClientGetsResponseAndClose() throws {
        let bed = try Self.plainBed()
        let c = try bed.connect()
        try c.send("GET /ten HTTP/1.0\r\nHost: client.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.json?["path"] as? String == "/ten")
        #expect(try c.waitForPeerClose(timeout: 5), "an HTTP/1.0 request without keep-alive ends the connection")
    }

    @Test func keepAliveReusesOneUpstreamConnection() throws {
        let bed = try Self.plainBed()
        let c = try bed.connect()
        for i in 0..<20 {
            try c.send("GET /ka/\(i) HTTP/1.1\r\nHost: client.test\r\n\r\n")
            let r = try c.readResponse()
            #expect(r.status == 200)
            #expect(r.json?["path"] as? String == "/ka/\(i)")
        }
        let log = try bed.upstream.requests()
        #expect(log.count == 20)
        #expect(Set(log.map(\.remotePort)).count == 1, "upstream saw ports \(Set(log.map(\.remotePort)))")
    }

    @Test func pipelinedRequestsAnsweredInOrder() throws {
        let bed = try Self.plainBed()
        let c = try bed.connect()
        // The first is slow, so answers in arrival order prove the ordering.
        let paths = ["/slow?ms=300", "/p1", "/p2", "/p3", "/p4"]
        try c.send(paths.map { "GET \($0) HTTP/1.1\r\nHost: client.test\r\n\r\n" }.joined())
        let rs = try c.readResponses(5)
        #expect(rs.map(\.status) == [200, 200, 200, 200, 200])
        #expect(rs[0].json?["slow"] as? Bool == true)
        #expect(rs.dropFirst().map { $0.json?["path"] as? String } == ["/p1", "/p2", "/p3", "/p4"])
    }

    @Test func absoluteFormTargetBecomesOriginForm() throws {
        let bed = try Self.plainBed()
        let c = try bed.connect()
        try c.send("GET http://client.test/abs/path?q=1 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(try bed.upstream.lastRequest().target == "/abs/path?q=1")
    }

    @Test func expect100ContinueThenBody() throws {
        let bed = try Self.plainBed()
        let c = try bed.connect()
        try c.send("POST /echo HTTP/1.1\r\nHost: client.test\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n")
        let interim = try c.readInterimHead(timeout: 5)
        #expect(interim.status == 100, "expected 100 Continue before sending the body, got \(interim.summary)")
        try c.send("hello world")
        let r = try c.readResponse()
        #expect(r.status == 200)
        #expect(r.bodyText == "hello world")
    }

    @Test func upstreamBasePathIsPrepended() throws {
        let bed = try ProxyTestBed(label: "basepath") { c, up, _ in
            c.routes = [.init(pathPrefix: "/api", upstream: up.url + "/v1")]
        }
        let r = try bed.get("/api/items?q=1")
        #expect(r.status == 200, "\(r.summary)")
        #expect(try bed.upstream.lastRequest().target == "/v1/api/items?q=1")
    }

    @Test func hostRewrittenToUpstreamAuthority() throws {
        let bed = try Self.plainBed()
        _ = try bed.get("/h", host: "client.test:1234")
        let req = try bed.upstream.lastRequest()
        #expect(req.headerValues("Host") == ["127.0.0.1:\(bed.upstream.port)"])
        #expect(req.header("X-Forwarded-Host") == "client.test:1234")
    }

    @Test func preserveHostKeepsClientHost() throws {
        let bed = try Self.plainBed(preserveHost: true)
        _ = try bed.get("/h", host: "client.test:1234")
        #expect(try bed.upstream.lastRequest().headerValues("Host") == ["client.test:1234"])
    }

    @Test func forwardingHeadersAdded() throws {
        let bed = try Self.plainBed()
        _ = try bed.get("/fwd", host: "client.test", extraHeaders: "X-Forwarded-For: 203.0.113.9\r\n")
        let req = try bed.upstream.lastRequest()
        let xff = req.headerValues("X-Forwarded-For").joined(separator: ", ")
        #expect(xff == "203.0.113.9, 127.0.0.1", "X-Forwarded-For: \(xff)")
        #expect(req.header("X-Forwarded-Proto") == "http")
        #expect(req.header("X-Forwarded-Host") == "client.test")
        #expect(req.header("Via") != nil)
        _ = try bed.get("/fwd2")
        #expect(try bed.upstream.lastRequest().headerValues("X-Forwarded-For") == ["127.0.0.1"])
    }

    @Test func hopByHopHeadersNotForwarded() throws {
        let bed = try Self.plainBed()
        let r = try bed.exchange(
            "GET /hop HTTP/1.1\r\nHost: client.test\r\nConnection: keep-alive, X-Custom-Hop\r\nX-Custom-Hop: 1\r\n"
                + "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\n"
                + "Upgrade: h2c\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nX-End-To-End: yes\r\n\r\n")
        #expect(r.status == 200, "\(r.summary)")
        let req = try bed.upstream.lastRequest()
        for name in ["x-custom-hop", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "proxy-authorization"] {
            #expect(!req.headerNames.contains(name), "\(name) was forwarded: \(req.headers)")
        }
        #expect(!req.headerValues("Connection").contains { $0.lowercased().contains("x-custom-hop") })
        #expect(req.header("X-End-To-End") == "yes")
    }

    @Test func headAnd204And304KeepFraming() throws {
        let bed = try Self.plainBed()
        let c = try bed.connect()
        try c.send("HEAD /bytes?n=1000 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let head = try c.readResponse(head: true)
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "1000")
        try c.send("GET /status/204 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let noContent = try c.readResponse()
        #expect(noContent.status == 204)
        try c.send("GET /status/304 HTTP/1.1\r\nHost: client.test\r\nIf-None-Match: \"x\"\r\n\r\n")
        let notModified = try c.readResponse()
        #expect(notModified.status == 304)
        // Any stray body byte would corrupt this next response.
        try c.send("GET /after HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let after = try c.readResponse()
        #expect(after.status == 200)
        #expect(after.json?["path"] as? String == "/after")
        #expect(try bed.upstream.requests().first?.method == "HEAD")
    }

    @Test func earlyHintsRelayedThen200() throws {
        let bed = try Self.plainBed()
        let r = try bed.get("/info")
        #expect(r.interim.map(\.status) == [103])
        #expect(r.interim.first?.header("Link") == "</a>; rel=preload")
        #expect(r.status == 200)
        #expect(r.json?["info"] as? Bool == true)
    }

    /// A 1xx answer to HEAD is interim, not the final response (review finding 3): the client
    /// gets the 103, then the 200 without a body, then the pipelined GET's answer.
    @Test func earlyHintsToHeadThenPipelinedGet() throws {
        let bed = try Self.plainBed()
        let c = try bed.connect()
        try c.send("HEAD /info HTTP/1.1\r\nHost: client.test\r\n\r\nGET /x HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let head = try c.readResponse(head: true, timeout: 5)
        #expect(head.interim.map(\.status) == [103], "\(head.summary)")
        #expect(head.status == 200, "\(head.summary)")
        let get = try c.readResponse(timeout: 5)
        #expect(get.status == 200, "\(get.summary)")
        #expect(get.json?["path"] as? String == "/x", "\(get.summary)")
        #expect(try bed.upstream.requests().map(\.method) == ["HEAD", "GET"])
    }

    /// An absolute-form target's authority replaces the Host header (RFC 9112 §3.2.2), for
    /// routing and for X-Forwarded-Host too (DESIGN.md §4; it was the Host header before issue 13).
    @Test func forwardedHostIsTheAuthorityForAbsoluteForm() throws {
        let bed = try Self.plainBed()
        let c = try bed.connect()
        try c.send("GET http://abs.test/x HTTP/1.1\r\nHost: header.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        let req = try bed.upstream.lastRequest()
        #expect(req.target == "/x")
        #expect(req.headerValues("X-Forwarded-Host") == ["abs.test"], "\(req.headers)")
    }
}
