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

    // MARK: body arriving while the request waits for its first token

    /// While the first token takes 500 ms the client sends a head, its whole body in large
    /// writes and then, in the same write as the body's end, pipelined GETs (`pipelined`, each
    /// padded with an `X-Pad` header of `padding` bytes). The proxy must deliver the body intact
    /// (/echo) and then answer every GET, and stay alive (review finding 2: body bytes filled
    /// the head buffer while the request waited, and pipelined bytes were then copied past its
    /// end, a heap overflow).
    func bodyWhileWaitingForToken(chunked: Bool, size: Int, pipelined: Int = 1, padding: Int = 0) throws {
        let bed = try ProxyTestBed(tokenMode: TokenMode(delayMs: 500), label: "tokenwait-body") { c, up, tok in
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        let body = Array(Self.requestBody.prefix(size))
        let c = try bed.connect(timeout: 20)
        let framing = chunked ? "Transfer-Encoding: chunked" : "Content-Length: \(size)"
        try c.send("POST /echo HTTP/1.1\r\nHost: client.test\r\n\(framing)\r\n\r\n")
        let pad = padding > 0 ? "X-Pad: \(String(repeating: "p", count: padding))\r\n" : ""
        let after = (0..<pipelined).flatMap { Array("GET /after/\($0) HTTP/1.1\r\nHost: client.test\r\n\(pad)\r\n".utf8) }
        let step = 65_536
        var offset = 0
        while offset < size {
            let part = Array(body[offset..<min(offset + step, size)])
            offset += part.count
            var write = chunked ? Array(String(part.count, radix: 16).utf8) + [13, 10] + part + [13, 10] : part
            if offset == size { write += (chunked ? Array("0\r\n\r\n".utf8) : []) + after }
            try c.send(write)
        }
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.body.count == size)
        #expect(r.body == body, "the echoed body differs")
        for i in 0..<pipelined {
            let next = try c.readResponse()
            #expect(next.status == 200, "\(next.summary)")
            #expect(next.json?["path"] as? String == "/after/\(i)")
        }

        #expect(bed.proxy.process.isRunning, "the proxy died: \(bed.proxy.output.suffix(2000))")
        let log = try bed.upstream.requests()
        #expect(log.map(\.path) == ["/echo"] + (0..<pipelined).map { "/after/\($0)" })
        #expect(log.first?.bodyLen == size)
        #expect(log.first?.bodySha256 == SHA256.hex(body))
        #expect(log.allSatisfy { $0.header("Authorization")?.hasPrefix("Bearer ") == true })
        #expect(try bed.get("/alive").status == 200)
    }

    @Test(arguments: [false, true])
    func bodyWhileWaitingForTheFirstToken(chunked: Bool) throws {
        try bodyWhileWaitingForToken(chunked: chunked, size: 300_000)
    }

    /// The same with the body ending just after a 64 KiB read boundary (its framed length is
    /// 100 more than a multiple of 65536), followed by ~64 KiB of pipelined requests: the read
    /// that ends the body then carries almost a full read of pipelined bytes.
    @Test(arguments: [false, true])
    func bodyWhileWaitingForTheFirstTokenThenLargePipelinedRequests(chunked: Bool) throws {
        // Chunked: 4 chunks of 65536 ("10000\r\n" + data + "\r\n"), one of m bytes, "0\r\n\r\n".
        var size = 4 * 65_536 + 100
        if chunked {
            let m = (1..<200).first { m in (4 * 65_545 + String(m, radix: 16).count + 4 + m + 5) % 65_536 == 100 }!
            size = 4 * 65_536 + m
        }
        try bodyWhileWaitingForToken(chunked: chunked, size: size, pipelined: 4, padding: 16_000)
    }
}
