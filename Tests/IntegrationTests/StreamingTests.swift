import Testing

/// 5 MB bodies pass intact in both directions, with Content-Length, chunked and (responses)
/// close-delimited framing (DESIGN.md §4).
@Suite struct StreamingTests {
    static let size = 5 << 20

    /// A request body distinct from the upstream's response pattern.
    static let requestBody: [UInt8] = {
        var out = [UInt8](repeating: 0, count: size)
        for i in 0..<size { out[i] = UInt8(truncatingIfNeeded: i &* 7 &+ 3) }
        return out
    }()
    static let requestSHA = SHA256.hex(requestBody)
    static let responseSHA = SHA256.hex(UpstreamFixture.pattern(size))

    static func bed() throws -> ProxyTestBed {
        try ProxyTestBed(label: "stream") { c, up, _ in c.routes = [.init(upstream: up.url)] }
    }

    @Test func largeRequestBodyWithContentLength() throws {
        let bed = try Self.bed()
        let c = try bed.connect(timeout: 30)
        try c.send("POST /echo HTTP/1.1\r\nHost: client.test\r\nContent-Length: \(Self.size)\r\n\r\n")
        try c.send(Self.requestBody)
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.body.count == Self.size)
        #expect(r.body == Self.requestBody)
        let logged = try bed.upstream.lastRequest()
        #expect(logged.bodyLen == Self.size)
        #expect(logged.bodySha256 == Self.requestSHA)
    }

    @Test func largeRequestBodyChunked() throws {
        let bed = try Self.bed()
        let c = try bed.connect(timeout: 30)
        try c.send("POST /echo HTTP/1.1\r\nHost: client.test\r\nTransfer-Encoding: chunked\r\n\r\n")
        var offset = 0
        let step = 65_521
        while offset < Self.size {
            let part = Array(Self.requestBody[offset..<min(offset + step, Self.size)])
            try c.send(Array(String(part.count, radix: 16).utf8) + [13, 10] + part + [13, 10])
            offset += part.count
        }
        try c.send("0\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.body == Self.requestBody)
        let logged = try bed.upstream.lastRequest()
        #expect(logged.bodyLen == Self.size)
        #expect(logged.bodySha256 == Self.requestSHA)
    }

    @Test(arguments: ["", "&chunked=1", "&close=1"])
    func largeResponseBody(framing query: String) throws {
        let bed = try Self.bed()
        let c = try bed.connect(timeout: 30)
        try c.send("GET /bytes?n=\(Self.size)\(query) HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.body.count == Self.size)
        #expect(SHA256.hex(r.body) == Self.responseSHA)
    }
}
