import Testing

/// Which client headers reach the upstream and how: Connection-named headers, Upgrade without
/// an upgrade, and X-Forwarded-For lists (DESIGN.md §4; RFC 9110 §7.6.1).
@Suite struct HeaderForwardingTests {
    static func bed() throws -> ProxyTestBed {
        try ProxyTestBed(label: "headers") { c, up, _ in c.routes = [.init(upstream: up.url)] }
    }

    @Test func headerNamedByConnectionIsNotForwarded() throws {
        let bed = try Self.bed()
        let r = try bed.get("/conn", extraHeaders: "Connection: X-Foo\r\nX-Foo: secret-hop\r\nX-Bar: kept\r\n")
        #expect(r.status == 200, "\(r.summary)")
        let req = try bed.upstream.lastRequest()
        #expect(!req.headerNames.contains("x-foo"), "X-Foo was forwarded: \(req.headers)")
        #expect(!req.headerValues("Connection").contains { $0.lowercased().contains("x-foo") }, "\(req.headers)")
        #expect(req.header("X-Bar") == "kept")
    }

    @Test func clientForwardedForIsAppendedTo() throws {
        let bed = try Self.bed()
        _ = try bed.get("/xff", extraHeaders: "X-Forwarded-For: 10.0.0.1\r\n")
        let values = try bed.upstream.lastRequest().headerValues("X-Forwarded-For")
        #expect(values == ["10.0.0.1, 127.0.0.1"], "X-Forwarded-For lines: \(values)")
    }

    /// Two lines form one list (RFC 9110 §5.3); the upstream gets it, plus the client, as one line.
    @Test func twoForwardedForLinesAreJoined() throws {
        let bed = try Self.bed()
        _ = try bed.get("/xff2", extraHeaders: "X-Forwarded-For: 10.0.0.1\r\nX-Other: 1\r\nX-Forwarded-For: 10.0.0.2, 10.0.0.3\r\n")
        let values = try bed.upstream.lastRequest().headerValues("X-Forwarded-For")
        #expect(values == ["10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1"], "X-Forwarded-For lines: \(values)")
    }

    /// `Upgrade` without `Connection: upgrade` asks for nothing: the request is an ordinary one,
    /// forwarded without the (hop-by-hop) Upgrade header, and answered normally.
    @Test func upgradeHeaderWithoutConnectionUpgradeIsDropped() throws {
        let bed = try Self.bed()
        let r = try bed.get("/ws", extraHeaders: "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n")
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.json?["path"] as? String == "/ws")
        let req = try bed.upstream.lastRequest()
        #expect(!req.headerNames.contains("upgrade"), "Upgrade was forwarded: \(req.headers)")
        #expect(!req.headerValues("Connection").contains { $0.lowercased().contains("upgrade") }, "\(req.headers)")
    }
}
