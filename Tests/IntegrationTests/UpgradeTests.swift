import Foundation
import Testing

/// DESIGN.md §4: `Upgrade` (WebSocket) is passed through as a tunnel after 101, with the token
/// injected on the upgrade request like on any other.
@Suite struct UpgradeTests {
    /// The upgrade-echo fixture: 101 for requests with Upgrade, then echoes raw bytes.
    private func bed() throws -> (ProxyTestBed, ScriptFixture) {
        var echo: ScriptFixture?
        let bed = try ProxyTestBed(label: "upgrade") { c, _, tok in
            let e = try ScriptFixture("upgrade_echo.py", label: "upgrade-echo")
            echo = e
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(name: "ws", upstream: "http://127.0.0.1:\(e.port)", credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        return (bed, echo!)
    }

    @Test func websocketUpgradeBecomesATunnelWithTheTokenInjected() throws {
        let (bed, echo) = try bed()
        let c = try bed.connect()
        // Bytes right after the upgrade request must reach the upstream too.
        try c.send("GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nearly")
        let head = try c.readInterimHead()
        #expect(head.status == 101)
        #expect(head.header("Upgrade")?.lowercased() == "websocket")
        #expect(head.header("Connection")?.lowercased() == "upgrade")
        #expect(try c.readBytes(5) == Array("early".utf8))
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try c.send(payload)
        #expect(try c.readBytes(payload.count, timeout: 20) == payload)

        let headers = try Self.lastHeaders(echo)
        func value(_ n: String) -> String? { headers.first { $0[0].lowercased() == n }?[1] }
        #expect(value("upgrade") == "websocket")
        #expect(value("connection")?.lowercased() == "upgrade")
        #expect(value("authorization")?.hasPrefix("Bearer ") == true)
        #expect(value("sec-websocket-key") == "dGhlIHNhbXBsZSBub25jZQ==")

        // Closing the client side ends the tunnel; the proxy stays healthy.
        c.close()
        let r = try bed.get("/again", extraHeaders: "")
        #expect(r.status == 426)
    }

    @Test func upgradeWithoutConnectionUpgradeIsNotForwarded() throws {
        let (bed, echo) = try bed()
        let r = try bed.exchange("GET /x HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n")
        #expect(r.status == 426)
        #expect(try Self.lastHeaders(echo).contains { $0[0].lowercased() == "upgrade" } == false)
    }

    private static func lastHeaders(_ f: ScriptFixture) throws -> [[String]] {
        try #require(f.records().last?["headers"] as? [[String]])
    }

    /// `Upgrade: h2c` to an upstream that does not switch (200, not 101): an ordinary exchange,
    /// and the keep-alive connection serves the next request (review finding 4: it got a 400).
    @Test func declinedUpgradeLeavesTheConnectionUsable() throws {
        let bed = try ProxyTestBed(label: "h2c") { c, up, _ in c.routes = [.init(upstream: up.url)] }
        let c = try bed.connect()
        try c.send("GET /first HTTP/1.1\r\nHost: client.test\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
        let first = try c.readResponse(timeout: 5)
        #expect(first.status == 200, "\(first.summary)")
        #expect(first.json?["path"] as? String == "/first")
        try c.send("GET /second HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let second = try c.readResponse(timeout: 5)
        #expect(second.status == 200, "\(second.summary)")
        #expect(second.json?["path"] as? String == "/second")
        #expect(try bed.upstream.requests().map(\.path) == ["/first", "/second"])
    }
}
