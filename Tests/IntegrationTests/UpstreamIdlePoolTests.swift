import Foundation
import Testing

/// `limits.upstream_idle_connections`: how many idle keep-alive connections the proxy keeps per
/// upstream and worker (nginx's upstream `keepalive N`). The fixture's `conn_id` tells upstream
/// connections apart; the kernel's socket table shows which ones the upstream still holds.
@Suite struct UpstreamIdlePoolTests {
    /// Five slow requests at once, so each needs its own upstream connection; returns their
    /// connection ids.
    private static func burst(_ bed: ProxyTestBed, tag: String) throws -> Set<Int> {
        var clients: [RawHTTPConnection] = []
        for i in 0..<5 {
            let c = try bed.connect()
            try c.send("GET /slow?ms=300&burst=\(tag)&i=\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
            clients.append(c)
        }
        for c in clients { #expect(try c.readResponse().status == 200) }
        let seen = try bed.upstream.requests().filter { $0.target.contains("burst=\(tag)&") }
        #expect(seen.count == 5)
        return Set(seen.map(\.connId))
    }

    /// Connections the upstream has accepted and that are still open at both ends.
    private static func heldByUpstream(_ bed: ProxyTestBed) throws -> Int {
        try TCPTable.count(localPort: bed.upstream.port, state: TCPTable.established)
    }

    /// After a burst of five, the pool keeps `cap` of them idle (all five with the default 256),
    /// and the next burst reuses exactly those.
    @Test(arguments: [(2, 2), (nil, 5)] as [(Int?, Int)])
    func burstLeavesAtMostTheCapIdle(cap: Int?, kept: Int) throws {
        let bed = try ProxyTestBed(label: "idle-cap") { c, up, _ in
            if let cap { c.limits = ["upstream_idle_connections": cap] }
            c.routes = [.init(name: "main", upstream: up.url)]
        }
        let first = try Self.burst(bed, tag: "a")
        #expect(first.count == 5)
        try Wait.until("the upstream to hold \(kept) connections", timeout: 5) { try Self.heldByUpstream(bed) == kept }
        let second = try Self.burst(bed, tag: "b")
        #expect(second.intersection(first).count == kept, "reused: \(second.intersection(first))")
        #expect(try Self.heldByUpstream(bed) <= 5)
    }

    /// 0: no keep-alive to upstreams. Every request on one keep-alive client connection gets a
    /// new upstream connection, which is closed after its response.
    @Test func zeroClosesEveryUpstreamConnectionAfterItsResponse() throws {
        let bed = try ProxyTestBed(label: "idle-cap-0") { c, up, _ in
            c.limits = ["upstream_idle_connections": 0]
            c.routes = [.init(name: "main", upstream: up.url)]
        }
        let client = try bed.connect()
        for i in 0..<3 {
            try client.send("GET /r\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try client.readResponse()
            #expect(r.status == 200)
            #expect(r.header("Connection")?.lowercased() != "close", "the client side stays keep-alive")
        }
        let seen = try bed.upstream.requests()
        #expect(seen.count == 3)
        #expect(Set(seen.map(\.connId)).count == 3, "upstream connections: \(seen.map(\.connId))")
        #expect(seen.allSatisfy { $0.connIndex == 0 })
        try Wait.until("the upstream connections to be closed", timeout: 5) { try Self.heldByUpstream(bed) == 0 }
    }

    /// A reload that lowers the cap closes the idle connections beyond it at once.
    @Test func reloadLowersTheCapOfExistingPools() throws {
        let bed = try ProxyTestBed(label: "idle-cap-reload") { c, up, _ in
            c.routes = [.init(name: "main", upstream: up.url)]
        }
        _ = try Self.burst(bed, tag: "a")
        try Wait.until("the upstream to hold 5 connections", timeout: 5) { try Self.heldByUpstream(bed) == 5 }
        var c = bed.config
        c.limits = ["upstream_idle_connections": 1]
        try ReloadTests.reload(bed, c, expect: "configuration reloaded")
        try Wait.until("the upstream to hold 1 connection", timeout: 5) { try Self.heldByUpstream(bed) == 1 }
        #expect(try bed.get("/after").status == 200)
    }
}
