import Foundation
import Testing

/// Client connection life cycle: pipelined requests with bodies, half-close, many concurrent
/// keep-alive connections over a bounded upstream pool, and the idle timeout (DESIGN.md §3, §4).
@Suite struct ConnectionHandlingTests {
    static func bed(limits: [String: Int] = [:]) throws -> ProxyTestBed {
        try ProxyTestBed(label: "conn") { c, up, _ in
            c.limits = limits
            c.routes = [.init(upstream: up.url)]
        }
    }

    /// Three POSTs with different bodies in one write: answered in order, each with its own body.
    @Test func pipelinedPostsWithBodiesAnsweredInOrder() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        let bodies = ["first body", String(repeating: "second-", count: 500), "3"]
        try c.send(bodies.map { "POST /echo HTTP/1.1\r\nHost: client.test\r\nContent-Length: \($0.utf8.count)\r\n\r\n\($0)" }.joined())
        let rs = try c.readResponses(3)
        #expect(rs.map(\.status) == [200, 200, 200])
        #expect(rs.map(\.bodyText) == bodies)
        let logged = try bed.upstream.requests()
        #expect(logged.map(\.bodyLen) == bodies.map(\.utf8.count))
    }

    /// The client sends a complete request and shuts down its sending side before the response
    /// began: like nginx (proxy_ignore_client_abort off) and Envoy, the proxy takes that as the
    /// client leaving (README "Clients that leave"): no response, the connection is closed, the
    /// request is logged as 499 client_closed. `warm`: a pooled upstream connection is idle (the
    /// request is forwarded at once); otherwise the FIN arrives while connecting upstream.
    static func halfClose(warm: Bool) throws -> (HTTPResponse?, ProxyTestBed, RawHTTPConnection) {
        let bed = try ProxyTestBed(label: "halfclose") { c, up, _ in
            c.server["workers"] = "1"
            c.routes = [.init(upstream: up.url)]
        }
        if warm { #expect(try bed.get("/warm-up").status == 200) }
        let c = try bed.connect()
        try c.send("GET /slow?ms=200 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        c.shutdownWrite()
        return (try? c.readResponse(timeout: 5), bed, c)
    }

    @Test func halfClosedClientBeforeTheResponseIsTakenAsGoneOnAPooledConnection() throws {
        let (r, bed, c) = try Self.halfClose(warm: true)
        #expect(r == nil, "answered a client that left: \(r?.summary ?? "")")
        #expect(try c.waitForPeerClose(timeout: 5))
        let lines = try bed.proxy.waitForAccessLog(count: 2)
        #expect(lines[1]["status"] as? Int == 499)
        #expect(lines[1]["error"] as? String == "client_closed")
    }

    @Test func halfClosedClientBeforeTheResponseIsTakenAsGoneWhileConnecting() throws {
        let (r, bed, _) = try Self.halfClose(warm: false)
        #expect(r == nil, "answered a client that left: \(r?.summary ?? "")")
        let line = try #require(try bed.proxy.waitForAccessLog(count: 1).first)
        #expect(line["status"] as? Int == 499)
        #expect(line["upstream_error"] is NSNull)
    }

    /// 100 keep-alive connections, each with 10 sequential requests, all in flight together
    /// (one request per connection at a time, 100 at once): all succeed, and the upstream pool
    /// never opens more connections than there were concurrent requests.
    @Test func hundredConcurrentKeepAliveClients() throws {
        let bed = try Self.bed()
        let clients = try (0..<100).map { _ in try bed.connect(timeout: 20) }
        for round in 0..<10 {
            for (i, c) in clients.enumerated() {
                try c.send("GET /c\(i)/r\(round) HTTP/1.1\r\nHost: client.test\r\n\r\n")
            }
            for (i, c) in clients.enumerated() {
                let r = try c.readResponse()
                #expect(r.status == 200, "client \(i) round \(round): \(r.summary)")
                #expect(r.json?["path"] as? String == "/c\(i)/r\(round)")
            }
        }
        let log = try bed.upstream.requests()
        #expect(log.count == 1000)
        // A pool that reuses its idle connections never needs more than the 100 concurrent ones.
        let upstreamConnections = Set(log.map(\.connId)).count
        #expect(upstreamConnections <= 100, "the upstream saw \(upstreamConnections) connections")
    }

    /// With idle_timeout_ms = 300 an idle keep-alive connection is closed: the client sees EOF.
    @Test func idleKeepAliveConnectionIsClosed() throws {
        let bed = try Self.bed(limits: ["idle_timeout_ms": 300])
        let c = try bed.connect()
        try c.send("GET /before-idle HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(!r.saysClose, "keep-alive expected: \(r.summary)")
        let idleSince = Date()
        #expect(try c.waitForPeerClose(timeout: 5), "the idle connection was not closed")
        let waited = Date().timeIntervalSince(idleSince)
        #expect(waited >= 0.2, "closed after \(waited) s, before the idle timeout")
        #expect(waited < 3, "closed after \(waited) s")
    }
}
