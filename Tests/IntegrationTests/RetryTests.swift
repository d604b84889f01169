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

    /// A POST whose small body came in the same write as its head is fully buffered, but a POST
    /// is not idempotent: once its bytes went to a connection that then closed, the upstream may
    /// have acted on it, so it is not replayed (review finding 8).
    @Test func bufferedPostIsNotRetried() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        try c.send("GET /close-next HTTP/1.1\r\nHost: client.test\r\n\r\n")
        #expect(try c.readResponse().status == 200)
        try c.send("POST /echo HTTP/1.1\r\nHost: client.test\r\nContent-Length: 5\r\n\r\nhello")
        let r = try c.readResponse()
        ErrorTableTests.expectProxyError(r, 502, "upstream_unavailable")
        let posts = try bed.upstream.requests().filter { $0.method == "POST" }
        #expect(posts.count <= 1, "the POST reached the upstream \(posts.count) times")
    }

    /// The same with PUT, which is idempotent: replayed on a fresh connection, answered 200.
    @Test func bufferedPutIsRetried() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        try c.send("GET /close-next HTTP/1.1\r\nHost: client.test\r\n\r\n")
        #expect(try c.readResponse().status == 200)
        try c.send("PUT /echo HTTP/1.1\r\nHost: client.test\r\nContent-Length: 5\r\n\r\nhello")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.bodyText == "hello")
        let puts = try bed.upstream.requests().filter { $0.method == "PUT" }
        try #require(puts.count == 2, "the PUT reached the upstream \(puts.count) times")
        #expect(puts[0].dropped == true)
        #expect(puts[1].dropped == nil)
        #expect(puts[1].bodyLen == 5)
        #expect(puts[1].connId != puts[0].connId)
    }
}
