import Foundation
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

    // MARK: Connection naming a framing header (request smuggling)

    /// Route "/a" without a credential and "/b" with one share one upstream (host:port), and
    /// one worker, so both clients' requests travel over the same pooled upstream connection.
    static func sharedUpstreamBed() throws -> ProxyTestBed {
        try ProxyTestBed(label: "smuggle") { c, up, tok in
            c.server["workers"] = "1"
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [
                .init(name: "open", pathPrefix: "/a", upstream: up.url),
                .init(name: "secure", pathPrefix: "/b", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"]),
            ]
        }
    }

    /// A body that is itself a request whose Content-Length would swallow whatever the upstream
    /// reads next on that connection: another client's request, Authorization header included.
    static let smuggled = Array(
        ("POST /store-comment HTTP/1.1\r\nHost: client.test\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Content-Length: 300\r\n\r\ncomment=").utf8)

    /// Sends client A's request (`framing` names the framing header in `Connection`), then client
    /// B's on the token route, and checks that the upstream saw exactly those two requests.
    func expectNoSmuggling(framing: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bed = try Self.sharedUpstreamBed()
        let a = try bed.connect()
        let body = Self.smuggled
        var raw = Array("POST /a HTTP/1.1\r\nHost: client.test\r\nConnection: \(framing)\r\n".utf8)
        if framing == "transfer-encoding" {
            raw += Array("Transfer-Encoding: chunked\r\n\r\n\(String(body.count, radix: 16))\r\n".utf8) + body + Array("\r\n0\r\n\r\n".utf8)
        } else {
            raw += Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
        }
        try a.send(raw)
        let ra = try a.readResponse()
        #expect(ra.status == 200, "client A: \(ra.summary)", sourceLocation: sourceLocation)

        let b = try bed.connect()
        try b.send("GET /b/next HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let rb = try b.readResponse()
        #expect(rb.status == 200, "client B: \(rb.summary)", sourceLocation: sourceLocation)
        #expect(rb.json?["path"] as? String == "/b/next", "client B got someone else's answer: \(rb.summary)", sourceLocation: sourceLocation)

        let log = try bed.upstream.requests()
        #expect(log.map(\.path) == ["/a", "/b/next"], "upstream saw \(log.map(\.target))", sourceLocation: sourceLocation)
        guard log.count == 2 else { return }
        let first = log[0], second = log[1]
        if framing == "transfer-encoding" {
            #expect(first.header("Transfer-Encoding")?.lowercased() == "chunked", "\(first.headers)", sourceLocation: sourceLocation)
        } else {
            #expect(first.header("Content-Length") == "\(body.count)", "\(first.headers)", sourceLocation: sourceLocation)
        }
        #expect(first.bodyLen == body.count, sourceLocation: sourceLocation)
        #expect(first.bodySha256 == SHA256.hex(body), sourceLocation: sourceLocation)
        #expect(second.header("Authorization")?.hasPrefix("Bearer ") == true, "\(second.headers)", sourceLocation: sourceLocation)
        #expect(second.dropped == nil, sourceLocation: sourceLocation)
        // The setting that makes smuggling dangerous: B's request followed A's on one connection.
        #expect(second.connId == first.connId, "the test meant both requests to share one upstream connection", sourceLocation: sourceLocation)
    }

    /// `Connection: transfer-encoding` must not strip the framing header: the upstream would
    /// otherwise frame the chunked body differently from the proxy (review finding 1).
    @Test func connectionNamingTransferEncodingDoesNotSmuggle() throws {
        try expectNoSmuggling(framing: "transfer-encoding")
    }

    @Test func connectionNamingContentLengthDoesNotSmuggle() throws {
        try expectNoSmuggling(framing: "content-length")
    }

    /// Response side: `Connection: content-length` from the upstream must not strip the
    /// response's Content-Length either; the client connection stays in sync.
    @Test func upstreamConnectionNamingContentLengthKeepsTheLength() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        try c.send("GET /conn-cl HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.header("Content-Length") == "5", "\(r.summary)")
        #expect(r.framing == "length")
        #expect(r.bodyText == "hello")
        try c.send("GET /after HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let after = try c.readResponse()
        #expect(after.status == 200, "\(after.summary)")
        #expect(after.json?["path"] as? String == "/after")
    }
}
