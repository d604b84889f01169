import Foundation
import Testing

/// How upstream response framing reaches clients: a truncated Content-Length body is never
/// passed off as complete, and an HTTP/1.0 client gets a chunked response de-chunked and
/// delimited by close (RFC 9112 §6.3, §7).
@Suite struct ResponseFramingTests {
    static func bed() throws -> ProxyTestBed {
        try ProxyTestBed(label: "framing") { c, up, _ in c.routes = [.init(upstream: up.url)] }
    }

    /// The upstream announces 100000 bytes, sends 5000 and closes: the client must see its
    /// connection closed short of the announced length — promptly, not after a hang.
    @Test func truncatedUpstreamBodyClosesTheClientConnection() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        let start = Date()
        try c.send("GET /truncate?n=100000&send=5000 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let head = try c.readInterimHead(timeout: 5)
        #expect(head.status == 200, "\(head.summary)")
        #expect(head.header("Content-Length") == "100000")
        let rest = try c.readUntilClose(timeout: 5)
        #expect(rest.count < 100_000, "the client got \(rest.count) bytes of a 5000-byte truncated body")
        #expect(rest.count <= 5000)
        #expect(rest == UpstreamFixture.pattern(rest.count), "the bytes that did arrive must be the upstream's")
        #expect(Date().timeIntervalSince(start) < 4)
    }

    /// A chunked body that breaks off mid-chunk: the proxy must not invent the last-chunk, so the
    /// client cannot take the partial body for a complete one.
    @Test func truncatedChunkedUpstreamBodyIsNotCompleted() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        let start = Date()
        try c.send("GET /truncate?n=100000&send=5000&chunked=1 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let head = try c.readInterimHead(timeout: 5)
        #expect(head.status == 200, "\(head.summary)")
        let rest = try c.readUntilClose(timeout: 5)
        let text = String(decoding: rest.suffix(7), as: UTF8.self)
        #expect(!text.hasSuffix("\r\n0\r\n\r\n") && !text.hasSuffix("0\r\n\r\n"), "a last-chunk was sent after a truncated body")
        #expect(rest.count < 100_000 + 16)
        #expect(Date().timeIntervalSince(start) < 4)
    }

    @Test func http10ClientGetsChunkedResponseDechunkedAndDelimitedByClose() throws {
        let bed = try Self.bed()
        let n = 100_000
        let c = try bed.connect()
        try c.send("GET /bytes?n=\(n)&chunked=1 HTTP/1.0\r\nHost: client.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.header("Transfer-Encoding") == nil, "HTTP/1.0 cannot parse chunked: \(r.summary)")
        #expect(r.framing == "close" || r.framing == "length", "framing: \(r.framing)")
        #expect(r.body.count == n)
        #expect(r.body == UpstreamFixture.pattern(n))
        #expect(try c.waitForPeerClose(timeout: 5))
        #expect(try bed.upstream.lastRequest().path == "/bytes")
    }
}
