import Testing

/// Request heads the proxy must refuse (or normalise) before anything reaches the upstream:
/// framing it cannot delimit, ambiguous Host, dot-segments, odd targets and oversized lines
/// (DESIGN.md §4 error table; RFC 9112 §3, §6; RFC 9110 §7.2).
@Suite struct RequestValidationTests {
    static func bed(limits: [String: Int] = [:]) throws -> ProxyTestBed {
        try ProxyTestBed(label: "validate") { c, up, _ in
            c.limits = limits
            c.routes = [.init(upstream: up.url)]
        }
    }

    /// Sends `raw` and expects `status`/`code` with nothing forwarded; returns the bed.
    @discardableResult
    static func expectRefused(
        _ raw: String, _ status: Int = 400, _ code: String = "bad_request", limits: [String: Int] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ProxyTestBed {
        let bed = try bed(limits: limits)
        let c = try bed.connect()
        try c.send(raw)
        let r = try c.readResponse()
        ErrorTableTests.expectProxyError(r, status, code, sourceLocation: sourceLocation)
        if status == 400 {
            #expect(try c.waitForPeerClose(timeout: 5), "400 must close the connection", sourceLocation: sourceLocation)
        }
        #expect(try bed.upstream.requests().isEmpty, "a refused request reached the upstream", sourceLocation: sourceLocation)
        #expect(bed.proxy.process.isRunning, "the proxy exited", sourceLocation: sourceLocation)
        return bed
    }

    /// RFC 9112 §6.1: a transfer coding other than a final `chunked` leaves the length unknown.
    @Test func transferEncodingGzipIsRefused() throws {
        try Self.expectRefused("POST /echo HTTP/1.1\r\nHost: client.test\r\nTransfer-Encoding: gzip\r\n\r\nabcdef")
    }

    /// A "/products/../admin" must not ride on the /products route's token.
    @Test(arguments: ["/a/../b", "/a/..", "/a/./b", "http://client.test/a/../b"])
    func dotSegmentPathIsRefused(target: String) throws {
        try Self.expectRefused("GET \(target) HTTP/1.1\r\nHost: client.test\r\n\r\n")
    }

    /// Dots in the query are not path segments.
    @Test func dotsInTheQueryAreFine() throws {
        let bed = try Self.bed()
        #expect(try bed.get("/a?x=/../y").status == 200)
        #expect(try bed.upstream.lastRequest().target == "/a?x=/../y")
    }

    /// `%2E` is `.` (RFC 3986 §2.3, §6.2.2.2): upstreams that decode before resolving see
    /// "/a/../b", so the encoded forms must be refused like the plain one.
    @Test(arguments: ["/a/%2e%2e/b", "/a/%2E%2E/b", "/a/.%2e/b", "/a/%2e/b", "/a/..%2fb/x", "/a\\..\\b"])
    func percentEncodedDotSegmentPathIsRefused(target: String) throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        try c.send("GET \(target) HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 400, "\(r.summary)")
        let forwarded = try bed.upstream.requests().map(\.target)
        #expect(forwarded.isEmpty, "forwarded as \(forwarded)")
    }

    /// RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400.
    @Test func missingHostOnHTTP11IsRefused() throws {
        try Self.expectRefused("GET /no-host HTTP/1.1\r\nX-Other: 1\r\n\r\n")
    }

    /// RFC 9112 §3.2: more than one Host line is a 400 (routing would be ambiguous).
    @Test func twoHostHeadersAreRefused() throws {
        try Self.expectRefused("GET /two-hosts HTTP/1.1\r\nHost: client.test\r\nHost: other.test\r\n\r\n")
    }

    /// A 40 KB request line exceeds the default max_header_bytes (32768).
    @Test func veryLongURLIsHeaderTooLarge() throws {
        let path = "/" + String(repeating: "a", count: 40_000)
        try Self.expectRefused("GET \(path) HTTP/1.1\r\nHost: client.test\r\n\r\n", 431, "header_too_large")
    }

    /// The asterisk form means the server itself; there is no upstream path to forward it to.
    /// Any clean 4xx will do, and the proxy keeps serving.
    @Test func optionsAsteriskGetsA4xxAndTheProxySurvives() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        try c.send("OPTIONS * HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let r = try c.readResponse()
        #expect((400..<500).contains(r.status), "\(r.summary)")
        #expect(r.header("Content-Type")?.hasPrefix("application/json") == true, "\(r.summary)")
        #expect(r.errorCode != nil, "\(r.summary)")
        #expect(try bed.upstream.requests().isEmpty)
        #expect(bed.proxy.process.isRunning)
        #expect(try bed.get("/after").status == 200)
    }

    /// `GET http://h?x=1`: absolute-form with an empty path means "/" (RFC 9112 §3.2.2).
    @Test func absoluteFormWithQueryButNoPath() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        try c.send("GET http://client.test?x=1 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        let req = try bed.upstream.lastRequest()
        #expect(req.target == "/?x=1")
    }
}
