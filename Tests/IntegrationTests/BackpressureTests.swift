import Foundation
import Glibc
import Testing

/// A slow reader on either side never makes the proxy buffer without bound (DESIGN.md §4):
/// hundreds of MB pass while the proxy's resident set stays far below the body size.
@Suite struct BackpressureTests {
    /// What a proxy that streams may hold: its baseline plus queues of a few hundred KiB. A proxy
    /// that buffers would pass this within a fraction of a second at loopback speed.
    static let rssLimit = Sanitizers.rssBound(64 << 20)

    /// Response side: the upstream serves 300 MB, the client reads 1 MiB and then nothing for
    /// 2 s with a 16 KiB receive buffer; the proxy must stop reading the upstream meanwhile.
    @Test func slowClientDoesNotMakeTheProxyBufferTheResponse() throws {
        let size = 300 << 20
        let bed = try ProxyTestBed(label: "bp-client") { c, up, _ in
            c.routes = [.init(upstream: up.url)]
        }
        let c = try RawHTTPConnection(port: bed.proxy.port, timeout: 20, receiveBufferBytes: 16 << 10)
        try c.send("GET /bytes?n=\(size) HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let head = try c.readInterimHead()
        #expect(head.status == 200, "\(head.summary)")
        #expect(head.header("Content-Length") == "\(size)")

        var checker = PatternStream.Checker()
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { piece.deallocate() }
        func read(upTo limit: Int) throws { try c.readPattern(into: &checker, upTo: limit, piece: piece) }

        try read(upTo: 1 << 20)
        // The pause is the point of the test: time in which a buffering proxy would fill up.
        var peak = 0
        let pauseEnd = Date().addingTimeInterval(2)
        while Date() < pauseEnd {
            peak = max(peak, try bed.proxy.residentBytes())
            usleep(50_000)
        }
        #expect(peak < Self.rssLimit, "proxy RSS reached \(peak >> 20) MiB while the client paused")

        // Now drain the rest, still watching the proxy.
        while checker.count < size {
            let before = checker.count
            try read(upTo: min(size, checker.count + (32 << 20)))
            peak = max(peak, try bed.proxy.residentBytes())
            if checker.count == before { break }
        }
        #expect(peak < Self.rssLimit, "proxy RSS reached \(peak >> 20) MiB")
        #expect(checker.count == size, "received \(checker.count) of \(size) bytes")
        #expect(checker.firstMismatch == nil, "body differs from the pattern at offset \(checker.firstMismatch ?? -1)")
    }

    /// Request side: the client uploads 200 MB while the upstream reads 64 KiB every 20 ms for
    /// the first 2.5 s; the proxy must stop reading the client meanwhile. The upstream then reads
    /// at full speed and must get every byte.
    @Test func slowUpstreamReaderDoesNotMakeTheProxyBufferTheRequest() throws {
        let size = 200 << 20
        let bed = try ProxyTestBed(label: "bp-upstream") { c, up, _ in
            c.limits = ["max_body_bytes": 1 << 30]
            c.routes = [.init(upstream: up.url)]
        }
        let expectedSHA = try PatternStream.sha256(size, in: bed.dir)
        let c = try bed.connect(timeout: 20)
        try c.send("POST /slowread?chunk=65536&ms=20&slow_ms=2500 HTTP/1.1\r\nHost: client.test\r\nContent-Length: \(size)\r\n\r\n")
        var peak = 0
        var samples = 0
        let start = Date()
        try PatternStream.send(size, on: c) {
            samples += 1
            if samples % 8 == 0 { peak = max(peak, try bed.proxy.residentBytes()) }
        }
        let uploadSeconds = Date().timeIntervalSince(start)
        peak = max(peak, try bed.proxy.residentBytes())
        #expect(peak < Self.rssLimit, "proxy RSS reached \(peak >> 20) MiB during the upload")
        // Kernel buffers on the way hold ~20 MB at most: a client that finished its 200 MB before
        // the upstream's slow phase ended was not held back by the proxy.
        #expect(uploadSeconds > 2, "the upload finished after \(uploadSeconds) s, before the upstream read it")

        let r = try c.readResponse(timeout: 30)
        #expect(r.status == 200, "\(r.summary)")
        let logged = try bed.upstream.lastRequest()
        #expect(logged.path == "/slowread")
        #expect(logged.bodyLen == size)
        #expect(logged.bodySha256 == expectedSHA)
    }

    /// A client that stops reading its response for idle_timeout_ms is cut off (review finding
    /// 5): otherwise it holds a client connection, an upstream connection and their buffers
    /// forever. The client reads a few KB of 50 MB with a 16 KiB receive buffer, then nothing;
    /// whether the proxy still holds the connection is read from /proc/net/tcp, since reading
    /// the socket would be progress.
    @Test func clientThatStopsReadingIsCutAfterTheIdleTimeout() throws {
        let size = 50_000_000
        let bed = try ProxyTestBed(label: "bp-stalled") { c, up, _ in
            c.limits = ["idle_timeout_ms": 500]
            c.routes = [.init(upstream: up.url)]
        }
        let c = try RawHTTPConnection(port: bed.proxy.port, timeout: 10, receiveBufferBytes: 16 << 10)
        try c.send("GET /bytes?n=\(size) HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let head = try c.readInterimHead()
        #expect(head.status == 200, "\(head.summary)")
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { piece.deallocate() }
        var received = 0
        while received < 8192 {
            let n = try c.readSome(into: piece)
            if n == 0 { break }
            received += n
        }
        #expect(received >= 8192, "the response ended after \(received) bytes")

        let stalled = Date()
        let clientPort = c.localPort
        var peak = 0
        // The probe itself must see the open connection first.
        try #require(try TCPTable.state(localPort: bed.proxy.port, remotePort: clientPort) == TCPTable.established)
        try Wait.until("the proxy to give up the connection of a client that stopped reading", timeout: 8) {
            peak = max(peak, try bed.proxy.residentBytes())
            return try TCPTable.state(localPort: bed.proxy.port, remotePort: clientPort) != TCPTable.established
        }
        let waited = Date().timeIntervalSince(stalled)
        #expect(waited < 5, "closed \(waited) s after the client stopped reading")
        #expect(peak < Self.rssLimit, "proxy RSS reached \(peak >> 20) MiB")

        // What was already on its way still arrives, then EOF or a reset: far short of 50 MB.
        while true {
            let n = try c.readSome(into: piece, timeout: 5)
            if n == 0 { break }
            received += n
        }
        #expect(received < 16 << 20, "the client received \(received) of \(size) bytes")
        #expect(bed.proxy.process.isRunning)
        #expect(try bed.get("/alive").status == 200)
    }
}

