import Testing

/// Route selection (DESIGN.md §3): host exact / `*.suffix` / any, segment-aware path prefix,
/// methods, first match in file order, 404 `no_route` on a connection that stays open.
/// Each route has its own upstream base path, so the upstream's target tells which matched.
@Suite struct RoutingTests {
    static func bed() throws -> ProxyTestBed {
        try ProxyTestBed(label: "routing") { c, up, _ in
            c.routes = [
                .init(name: "exact", host: "api.example.com", pathPrefix: "/products", upstream: up.url + "/r0"),
                .init(name: "wild", host: "*.wild.test", upstream: up.url + "/r1"),
                .init(name: "read", pathPrefix: "/products", methods: ["GET", "HEAD"], upstream: up.url + "/r2"),
                .init(name: "write", pathPrefix: "/products", upstream: up.url + "/r3"),
                .init(name: "first", pathPrefix: "/fm", methods: ["GET"], upstream: up.url + "/r4"),
                .init(name: "second", host: "fm.test", pathPrefix: "/fm", upstream: up.url + "/r5"),
            ]
        }
    }

    /// Sends one request on `c` and returns the upstream target it produced (nil: not forwarded).
    static func route(_ bed: ProxyTestBed, _ c: RawHTTPConnection, _ path: String, host: String, method: String = "GET") throws -> String? {
        let before = try bed.upstream.requests().count
        let body = method == "POST" ? "Content-Length: 0\r\n" : ""
        try c.send("\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n\(body)\r\n")
        let r = try c.readResponse(head: method == "HEAD")
        let log = try bed.upstream.requests()
        if r.status == 404 && r.errorCode == "no_route" { return nil }
        #expect(r.status == 200, "\(method) \(host)\(path): \(r.summary)")
        return log.count > before ? log.last?.target : nil
    }

    @Test func hostMatching() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        #expect(try Self.route(bed, c, "/products/1", host: "api.example.com") == "/r0/products/1")
        #expect(try Self.route(bed, c, "/products/1", host: "api.example.com:8080") == "/r0/products/1", "port is ignored")
        #expect(try Self.route(bed, c, "/products/1", host: "API.Example.COM") == "/r0/products/1", "host names are case-insensitive")
        #expect(try Self.route(bed, c, "/x", host: "a.wild.test") == "/r1/x")
        #expect(try Self.route(bed, c, "/x", host: "b.a.wild.test") == "/r1/x")
        #expect(try Self.route(bed, c, "/x", host: "wild.test") == nil, "*.wild.test does not match wild.test")
        #expect(try Self.route(bed, c, "/products", host: "other.test") == "/r2/products", "no host = any host")
    }

    @Test func segmentAwarePrefix() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        #expect(try Self.route(bed, c, "/products", host: "other.test") == "/r2/products")
        #expect(try Self.route(bed, c, "/products/1", host: "other.test") == "/r2/products/1")
        #expect(try Self.route(bed, c, "/products?x=1", host: "other.test") == "/r2/products?x=1")
        #expect(try Self.route(bed, c, "/productsX", host: "other.test") == nil)
        #expect(try Self.route(bed, c, "/", host: "other.test") == nil)
    }

    @Test func methodsAndFirstMatchWins() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        #expect(try Self.route(bed, c, "/products/1", host: "other.test", method: "GET") == "/r2/products/1")
        #expect(try Self.route(bed, c, "/products/1", host: "other.test", method: "HEAD") == "/r2/products/1")
        #expect(try Self.route(bed, c, "/products/1", host: "other.test", method: "POST") == "/r3/products/1")
        #expect(try Self.route(bed, c, "/fm/a", host: "fm.test", method: "GET") == "/r4/fm/a", "the earlier route wins")
        #expect(try Self.route(bed, c, "/fm/a", host: "fm.test", method: "POST") == "/r5/fm/a")
        #expect(try Self.route(bed, c, "/fm/a", host: "other.test", method: "POST") == nil)
    }

    @Test func noRouteIs404JSONAndConnectionStaysOpen() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        try c.send("GET /nowhere HTTP/1.1\r\nHost: other.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 404)
        #expect(r.errorCode == "no_route")
        #expect(r.errorMessage != nil)
        #expect(r.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(!r.saysClose)
        try c.send("GET /products/2 HTTP/1.1\r\nHost: other.test\r\n\r\n")
        #expect(try c.readResponse().status == 200, "the connection must stay usable after a 404")
        #expect(try bed.upstream.requests().count == 1)
    }

    /// 3000 pipelined requests without a route in one write, behind a slow one and followed by
    /// one with a route: the slow request lets all of them pile up in the proxy's buffer, so
    /// they are answered in one go when it ends. Every 404 arrives, in order, then the 200
    /// (review finding 9: each 404 answered from the buffer recursed into parsing the next,
    /// and ~2200 deep the worker's stack overflowed: SIGSEGV).
    @Test func thousandsOfPipelined404s() throws {
        let bed = try ProxyTestBed(label: "routing-404s") { c, up, _ in
            c.routes = [
                .init(pathPrefix: "/known", upstream: up.url),
                .init(pathPrefix: "/slow", upstream: up.url),
            ]
        }
        let c = try bed.connect(timeout: 20)
        let count = 3000
        try c.send(
            "GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"
                + String(repeating: "GET /none HTTP/1.1\r\nHost: x\r\n\r\n", count: count)
                + "GET /known/last HTTP/1.1\r\nHost: x\r\n\r\n")
        let rs = try c.readResponses(count + 2)
        #expect(rs.first?.status == 200)
        #expect(rs.first?.json?["slow"] as? Bool == true)
        let notFound = rs.dropFirst().prefix(count).filter { $0.status == 404 && $0.errorCode == "no_route" }.count
        #expect(notFound == count, "\(notFound) of \(count) were 404 no_route")
        #expect(rs.last?.status == 200)
        #expect(rs.last?.json?["path"] as? String == "/known/last")
        #expect(bed.proxy.process.isRunning, "the proxy died: \(bed.proxy.output.suffix(2000))")
        #expect(try bed.get("/known/alive").status == 200)
        #expect(try bed.upstream.requests().map(\.path) == ["/slow", "/known/last", "/known/alive"])
    }
}
