import Testing

/// A pooled keep-alive upstream connection that the upstream closes without answering: the
/// request is replayed once on a fresh connection when nothing of it can have been consumed
/// irrecoverably, and not when its body already streamed from the client.
///
/// The fixture's `/close-next` answers normally and marks its connection; the next request on
/// that connection is read (body too), logged with `dropped`, and the socket closed (FIN).
/// One worker, so the client's requests share one upstream pool.
@Suite struct RetryTests {
    static func bed() throws -> ProxyTestBed {
        try ProxyTestBed(label: "retry") { c, up, _ in
            c.server["workers"] = "1"
            c.routes = [.init(upstream: up.url)]
        }
    }

    @Test func requestOnAClosedPooledConnectionIsRetriedOnAFreshOne() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        try c.send("GET /close-next HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let first = try c.readResponse()
        #expect(first.status == 200, "\(first.summary)")
        try c.send("GET /again?n=1 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.json?["path"] as? String == "/again")

        let log = try bed.upstream.requests()
        let marker = try #require(log.first { $0.path == "/close-next" })
        let attempts = log.filter { $0.path == "/again" }
        try #require(attempts.count == 2, "upstream saw /again \(attempts.count) times: \(log.map(\.target))")
        #expect(attempts[0].connId == marker.connId, "the first attempt should reuse the pooled connection")
        #expect(attempts[0].dropped == true)
        #expect(attempts[1].connId != attempts[0].connId, "the retry must use a fresh connection")
        #expect(attempts[1].dropped == nil)
        #expect(attempts[1].connIndex == 0)
    }

    @Test func postWhoseBodyAlreadyStreamedIsNotRetried() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        try c.send("GET /close-next HTTP/1.1\r\nHost: client.test\r\n\r\n")
        #expect(try c.readResponse().status == 200)
        // Head first, then 1 MiB: most of the body is read from the socket after forwarding began,
        // so the proxy no longer holds it and must not replay the request.
        let size = 1 << 20
        try c.send("POST /upload HTTP/1.1\r\nHost: client.test\r\nContent-Length: \(size)\r\n\r\n")
        try PatternStream.send(size, on: c)
        let r = try c.readResponse()
        ErrorTableTests.expectProxyError(r, 502, "upstream_unavailable")

        let uploads = try bed.upstream.requests().filter { $0.path == "/upload" }
        #expect(uploads.count == 1, "the POST reached the upstream \(uploads.count) times")
        #expect(uploads.first?.dropped == true)
        #expect(uploads.first?.bodyLen == size)
    }
}
