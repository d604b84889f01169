import Foundation
import Testing

/// Issue 8 §3: connection and request limits, and the header timeout holding under many slow
/// clients (slowloris) while normal traffic is served.
@Suite struct ResourceLimitsTests {
    /// With max_connections = 3, connections opened one after another are served until the
    /// limit; the next gets 503 overloaded and is closed; closing one lets a new one in.
    @Test func connectionsOverMaxConnectionsGet503Overloaded() throws {
        let bed = try ProxyTestBed(limits: ["max_connections": 3])
        var open: [RawHTTPConnection] = []
        var refused: HTTPResponse?
        for i in 0..<6 {
            let c = try bed.connect()
            try c.send("GET /c\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try c.readResponse()
            if r.status == 503 {
                refused = r
                #expect(try c.waitForPeerClose(timeout: 5))
                break
            }
            #expect(r.status == 200)
            open.append(c)
        }
        let r = try #require(refused, "no connection was refused")
        #expect(r.json?["error"] as? String == "overloaded")
        #expect(r.header("Retry-After") == "1")
        #expect(open.count >= 2 && open.count <= 3)
        try open[0].send("GET /still HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try open[0].readResponse().status == 200)
        open.removeFirst().close()
        try Wait.until("a new connection to be served", timeout: 5) {
            (try? bed.get("/again").status) == 200
        }
    }

    /// A route's max_upstream_connections: five concurrent slow requests share two upstream
    /// connections (the others wait in the pool's queue and are served as connections free up).
    @Test func maxUpstreamConnectionsQueuesRequestsOnTheLimit() throws {
        let bed = try ProxyTestBed(label: "upstream-limit") { c, up, _ in
            c.routes = [.init(name: "limited", upstream: up.url, extra: ["max_upstream_connections": "2"])]
        }
        var clients: [RawHTTPConnection] = []
        for i in 0..<5 {
            let c = try bed.connect()
            try c.send("GET /slow?ms=300&i=\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
            clients.append(c)
        }
        for c in clients { #expect(try c.readResponse().status == 200) }
        let seen = try bed.upstream.requests().filter { $0.path == "/slow" }
        #expect(seen.count == 5)
        #expect(Set(seen.map(\.remotePort)).count == 2, "upstream connections: \(Set(seen.map(\.remotePort)))")
    }

    /// A request that waits longer than connect_timeout_ms for a connection of a route at its
    /// limit gets 503 overloaded, and the connection that was busy is unaffected.
    @Test func maxUpstreamConnectionsWaitTimesOutWith503() throws {
        let bed = try ProxyTestBed(label: "upstream-limit-timeout") { c, up, _ in
            c.limits = ["connect_timeout_ms": 300]
            c.routes = [.init(name: "limited", upstream: up.url, extra: ["max_upstream_connections": "1"])]
        }
        let busy = try bed.connect()
        try busy.send("GET /slow?ms=2000 HTTP/1.1\r\nHost: x\r\n\r\n")
        try Wait.until("the slow request to reach the upstream", timeout: 5) {
            (try? bed.upstream.requests().contains { $0.path == "/slow" }) == true
        }
        let r = try bed.get("/fast")
        #expect(r.status == 503)
        #expect(r.json?["error"] as? String == "overloaded")
        #expect((r.json?["message"] as? String)?.contains("max_upstream_connections") == true)
        #expect(r.header("Retry-After") == "1")
        #expect(try busy.readResponse().status == 200)
        #expect(try bed.get("/after").status == 200)
    }

    @Test func maxRequestsPerConnectionClosesAfterTheLimit() throws {
        let bed = try ProxyTestBed(limits: ["max_requests_per_connection": 2])
        let c = try bed.connect()
        try c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = try c.readResponse()
        let second = try c.readResponse()
        #expect(first.status == 200 && first.header("Connection") == nil)
        #expect(second.status == 200 && second.header("Connection")?.lowercased() == "close")
        #expect(try c.waitForPeerClose(timeout: 5))
    }

    /// 1000 connections that send a head one byte at a time, too slowly: each is answered 408 or
    /// closed after header_timeout_ms, and a normal client is served throughout.
    @Test func slowlorisConnectionsAreCutWhileNormalTrafficFlows() throws {
        let bed = try ProxyTestBed(limits: ["header_timeout_ms": 700])
        var slow: [RawHTTPConnection] = []
        for _ in 0..<1000 {
            let c = try bed.connect()
            try c.send("GET /slow HTTP/1.1\r\nHo")
            slow.append(c)
        }
        let start = Date()
        for _ in 0..<5 {
            #expect(try bed.get("/normal").status == 200)
        }
        #expect(Date().timeIntervalSince(start) < 5)
        var cut = 0
        for c in slow {
            let bytes = try c.readUntilClose(timeout: 10)
            if bytes.isEmpty || String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 408") { cut += 1 }
        }
        #expect(cut == 1000)
        #expect(Date().timeIntervalSince(start) < 15)
        #expect(try bed.upstream.requests().filter { $0.path == "/slow" }.isEmpty)
    }
}
