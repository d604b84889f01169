import Foundation
import Testing

/// Issue 14 item 6: more concurrent requests than `upstream_idle_connections`. A connection that
/// finishes while a request of its pool is still opening a new one is handed to that request,
/// and the idle cap applies once the requests that need a connection are served (README
/// "Upstream endpoints", `UpstreamPool`, `IdleCapPolicy`).
@Suite struct UpstreamHandoffTests {
    /// Connections the upstream has accepted and that are still open at both ends.
    private static func heldByUpstream(_ port: UInt16) throws -> Int {
        try TCPTable.count(localPort: port, state: TCPTable.established)
    }

    /// 12 keep-alive clients, 8 waves of one request each, over an idle cap of 2. A hard cap
    /// closed about 10 connections per wave and opened them again (nginx `keepalive 2` does);
    /// here the upstream accepts about one connection per client, every client gets the answer
    /// to its own request, and 2 stay idle after the load.
    @Test func manyClientsOverASmallIdleCapKeepTheirConnections() throws {
        let bed = try ProxyTestBed(label: "handoff-churn") { c, up, _ in
            c.limits = ["upstream_idle_connections": 2]
            c.routes = [.init(name: "main", upstream: up.url)]
        }
        let clients = 12, rounds = 8
        let conns = try (0..<clients).map { _ in try bed.connect() }
        for k in 0..<rounds {
            // A wave: every client sends before any answer is read.
            for (i, c) in conns.enumerated() { try c.send("GET /slow?ms=20&c=\(i)&k=\(k) HTTP/1.1\r\nHost: x\r\n\r\n") }
            for (i, c) in conns.enumerated() {
                let r = try c.readResponse()
                #expect(r.status == 200)
                #expect(r.json?["target"] as? String == "/slow?ms=20&c=\(i)&k=\(k)", "client \(i) got another request's answer")
            }
        }
        let seen = try bed.upstream.requests()
        #expect(seen.count == clients * rounds)
        let opened = Set(seen.map(\.connId)).count
        #expect(opened <= clients + 4, "upstream connections opened for \(seen.count) requests: \(opened)")
        // The cap holds again once nobody needs the surplus: two trim ticks (2 s each).
        try Wait.until("the upstream to hold 2 connections", timeout: 15) { try Self.heldByUpstream(bed.upstream.port) == 2 }
    }

    /// Request B finds no idle connection and opens one, whose TLS handshake the upstream delays
    /// by 3 s. Request A's connection finishes meanwhile and is handed to B, which is answered
    /// on it long before its own connect would be done; the new connection connects on and
    /// joins the pool.
    @Test func aFinishingConnectionIsHandedToARequestStillConnecting() throws {
        let pki = try TestPKI.get()
        let dir = try TempDir("handoff-tls")
        let upstream = try UpstreamFixture(in: dir, tls: pki.pair("server"), extraArguments: ["--handshake-delay-ms", "3000"])
        var config = TestConfig(listenPort: try FreePort.pick())
        config.routes = [.init(name: "tls", upstream: upstream.url, extra: TLSTests.caKeys(pki))]
        let proxy = try ProxyProcess(config: config, in: dir)

        let a = try proxy.connect()
        try a.send("GET /slow?ms=600&r=a HTTP/1.1\r\nHost: x\r\n\r\n")
        try Wait.until("the upstream to receive request a") { try upstream.requests().contains { $0.target.contains("r=a") } }
        let b = try proxy.connect()
        let sentB = Date()
        try b.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try a.readResponse().status == 200)
        let rb = try b.readResponse(timeout: 10)
        let waited = Date().timeIntervalSince(sentB)
        #expect(rb.status == 200)
        #expect(rb.json?["path"] as? String == "/b")
        let seen = try upstream.requests()
        let connA = try #require(seen.first { $0.target.contains("r=a") }).connId
        let connB = try #require(seen.first { $0.target == "/b" }).connId
        #expect(connB == connA, "b went on a connection of its own (\(connB)) after \(waited) s")
        #expect(waited < 2.5, "b waited \(waited) s")
        // The spare finishes its handshake and stays open for the next request.
        try Wait.until("the upstream to hold 2 connections", timeout: 10) { try Self.heldByUpstream(upstream.port) == 2 }
        let c = try proxy.connect()
        try c.send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try c.readResponse().status == 200)
    }
}
