import Foundation
import Testing

/// RFC 9113 cases a conformant server must answer with a specific error, and the flow-control
/// guarantees of DESIGN.md §7 (a slow peer never makes the proxy buffer without bound), sent
/// frame by frame with `H2RawClient` (h2spec-style cases, written from the RFC's sections).
@Suite struct HTTP2ConformanceTests {
    typealias Kind = H2RawClient.Kind
    typealias Code = H2RawClient.Code

    /// §3.4: a client preface other than the exact 24 octets is a connection error
    /// PROTOCOL_ERROR (a GOAWAY, or a plain close: the RFC allows both for a bad preface).
    @Test func badPrefaceIsAProtocolError() throws {
        let bed = try ProxyTestBed(label: "h2c-preface")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.send(Array("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n".utf8) + H2RawClient.frame(type: Kind.settings, payload: []))
        let code = try c.goAwayCode()
        #expect(code == nil || code == Code.protocolError, "GOAWAY \(code ?? 0)")
        // The listener still serves HTTP/1.1 and HTTP/2 afterwards.
        #expect(try bed.get("/after").status == 200)
    }

    /// §4.2: a frame larger than SETTINGS_MAX_FRAME_SIZE (16384 here) is FRAME_SIZE_ERROR, also
    /// for a HEADERS frame (a connection error: the header block cannot be decoded).
    @Test func oversizedHeadersFrameIsAFrameSizeError() throws {
        let bed = try ProxyTestBed(label: "h2c-fsize")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        let block = c.requestBlock(path: "/", fields: [("x-pad", String(repeating: "a", count: 17000))])
        try c.send(type: Kind.headers, flags: 5, stream: 1, payload: block)
        #expect(try c.goAwayCode() == Code.frameSize)
    }

    /// RFC 7541 §2.3.3 / RFC 9113 §4.3: an index outside the tables (0 here) cannot be decoded:
    /// connection error COMPRESSION_ERROR.
    @Test func hpackGarbageIsACompressionError() throws {
        let bed = try ProxyTestBed(label: "h2c-hpack")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        try c.send(type: Kind.headers, flags: 5, stream: 1, payload: [0x82, 0x84, 0x80])
        #expect(try c.goAwayCode() == Code.compression)
        // Nothing reached the upstream.
        #expect(try bed.upstream.requests().isEmpty)
    }

    /// §5.1.2: a stream over the advertised SETTINGS_MAX_CONCURRENT_STREAMS
    /// (`limits.max_concurrent_streams`) is a stream error PROTOCOL_ERROR or REFUSED_STREAM.
    /// Streams opened before the client acknowledged the SETTINGS (a client that opens many at
    /// once) are refused with REFUSED_STREAM, which it may retry, and the others carry on.
    /// After the acknowledgement nghttp2 1.52 treats one more as a connection error
    /// PROTOCOL_ERROR (GOAWAY), which §5.4.1 allows ("MAY choose to treat a stream error as a
    /// connection error"): only a client ignoring the limit it agreed to meets that.
    @Test func streamsOverTheLimitAreRefused() throws {
        let bed = try ProxyTestBed(label: "h2c-streams") { c, up, tok in
            c.limits = ["max_concurrent_streams": 2]
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(name: "main", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        try c.request(stream: 1, path: "/hang")
        try c.request(stream: 3, path: "/hang")
        try c.request(stream: 5, path: "/hang")
        var settings: H2RawClient.Frame?
        let refused = try #require(try c.read(until: { $0.type == Kind.rstStream || $0.type == Kind.goAway }) { f in
            if f.type == Kind.settings && f.flags & 1 == 0 { settings = f }
        })
        #expect(refused.type == Kind.rstStream && refused.stream == 5, "\(refused.type) on \(refused.stream)")
        #expect(refused.errorCode == Code.refusedStream)
        // SETTINGS_MAX_CONCURRENT_STREAMS (3) is advertised as configured.
        let payload = try #require(settings?.payload)
        var advertised: UInt32?
        for i in stride(from: 0, to: payload.count - 5, by: 6) where payload[i + 1] == 3 {
            advertised = H2RawClient.Frame.u32(payload, i + 2)
        }
        #expect(advertised == 2)
        try Wait.until("two streams reached the upstream", timeout: 10) { (try? bed.upstream.requests().count) == 2 }
        // A stream ends: a new one is accepted.
        try c.send(type: Kind.rstStream, stream: 1, payload: H2RawClient.be(Code.cancel, 4))
        _ = try bed.proxy.waitForAccessLog(count: 1)
        try c.request(stream: 7, path: "/ok")
        let answer = try #require(try c.read(until: { $0.stream == 7 }))
        #expect(answer.type == Kind.headers && H2RawClient.status(answer.payload) == 200)
        // Acknowledged, and streams 3 and 9 open: stream 11 breaks the agreed limit.
        try c.ackSettings()
        try c.request(stream: 9, path: "/hang")
        try Wait.until("stream 9 reached the upstream", timeout: 10) { (try? bed.upstream.requests().count) == 4 }
        try c.request(stream: 11, path: "/hang")
        let over = try #require(try c.read(until: { $0.type == Kind.rstStream || $0.type == Kind.goAway }))
        #expect(over.errorCode == Code.protocolError || over.errorCode == Code.refusedStream)
    }

    /// A header list over SETTINGS_MAX_HEADER_LIST_SIZE (= `limits.max_header_bytes`) gets the
    /// same 431 an HTTP/1.1 head that size gets, logged and counted; the stream holds at most
    /// the limit meanwhile.
    @Test func headerListOverTheLimitIs431() throws {
        let bed = try ProxyTestBed(limits: ["max_header_bytes": 4096], label: "h2c-hlist")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        try c.request(stream: 1, path: "/big", fields: [("x-a", String(repeating: "a", count: 3000)),
                                                        ("x-b", String(repeating: "b", count: 3000))])
        let answer = try #require(try c.read(until: { $0.stream == 1 && ($0.type == Kind.headers || $0.type == Kind.rstStream) }))
        #expect(answer.type == Kind.headers && H2RawClient.status(answer.payload) == 431, "\(answer.type) \(answer.payload.prefix(8))")
        let line = try #require(try bed.proxy.waitForAccessLog(count: 1).first)
        #expect(line["status"] as? Int == 431)
        #expect(line["error"] as? String == "header_too_large")
        #expect(try bed.upstream.requests().isEmpty)
        // The connection is still usable.
        try c.request(stream: 3, path: "/small")
        let next = try #require(try c.read(until: { $0.stream == 3 && $0.type == Kind.headers }))
        #expect(H2RawClient.status(next.payload) == 200)
    }

    /// More fields than the head's header table holds (128, as for HTTP/1.1: llhttp's overflow)
    /// is the same 431 too.
    @Test func tooManyFieldsIs431() throws {
        let bed = try ProxyTestBed(limits: ["max_header_bytes": 4096], label: "h2c-hcount")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        try c.request(stream: 1, path: "/many", fields: (0..<130).map { ("x-f\($0)", "v") })
        let many = try #require(try c.read(until: { $0.stream == 1 && ($0.type == Kind.headers || $0.type == Kind.rstStream) }))
        #expect(many.type == Kind.headers && H2RawClient.status(many.payload) == 431)
        let line = try #require(try bed.proxy.waitForAccessLog(count: 1).first)
        #expect(line["status"] as? Int == 431)
        #expect(line["error"] as? String == "header_too_large")
        #expect(try bed.upstream.requests().isEmpty)
    }

    /// §6.9.1: DATA beyond the window the proxy granted is FLOW_CONTROL_ERROR. The window is
    /// only reopened as the stream's exchange takes the bytes (here it cannot: its token is
    /// late), so the upload stalls after a bounded amount and one more byte is a violation.
    @Test func dataBeyondTheWindowIsAFlowControlError() throws {
        let bed = try ProxyTestBed(tokenMode: TokenMode(delayMs: 15000), limits: ["token_wait_ms": 20000], label: "h2c-flow")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        try c.request(stream: 1, method: "POST", path: "/upload", endStream: false)
        var window = 65535  // the smaller of the stream's and the connection's (both start here)
        var streamWindow = 65535, connWindow = 65535
        var sent = 0
        let chunk = [UInt8](repeating: 0x5a, count: 16384)
        while sent < 64 << 20 {
            while window > 0 {
                let n = min(window, chunk.count)
                try c.send(type: Kind.data, stream: 1, payload: Array(chunk[0..<n]))
                sent += n
                streamWindow -= n
                connWindow -= n
                window = min(streamWindow, connWindow)
            }
            // Wait for the proxy to reopen the window; none for 1.5 s: the upload is held.
            var grew = false
            do {
                _ = try c.read(until: { f in
                    if f.type == Kind.windowUpdate {
                        let inc = Int(H2RawClient.Frame.u32(f.payload, 0) & 0x7fff_ffff)
                        if f.stream == 0 { connWindow += inc } else { streamWindow += inc }
                        window = min(streamWindow, connWindow)
                    }
                    if window > 0 { grew = true }
                    return grew
                }, timeout: 1.5)
            } catch let e as HarnessError where e.description.hasPrefix("timed out") {}
            if !grew { break }
        }
        #expect(window == 0)
        #expect(sent < 8 << 20, "the proxy took \(sent >> 20) MiB of a body it could not forward")
        try c.send(type: Kind.data, stream: 1, payload: [1])
        let error = try #require(try c.read(until: { $0.type == Kind.goAway || $0.type == Kind.rstStream }))
        #expect(error.errorCode == Code.flowControl)
    }

    /// A client that does not read (stream window 0) while the upstream sends 256 MiB: the
    /// proxy holds a bounded amount (each stream's response buffer, then the socket pair and the
    /// upstream's socket fill and the upstream is no longer read), and the body still arrives
    /// intact once the client opens its window. Chunked: the inner connection de-chunks it for
    /// the stream and pauses its upstream all the same.
    @Test(arguments: [false, true])
    func clientWithWindowZeroDoesNotMakeTheProxyBuffer(chunked: Bool) throws {
        let bed = try ProxyTestBed(label: "h2c-win0")
        let c = try H2RawClient(port: bed.proxy.port, timeout: 30)
        try c.start(settings: [(4, 0)])  // SETTINGS_INITIAL_WINDOW_SIZE = 0
        let size = 256 << 20
        try c.request(stream: 1, path: "/bytes?n=\(size)" + (chunked ? "&chunked=1" : ""))
        let head = try #require(try c.read(until: { $0.stream == 1 && $0.type == Kind.headers }))
        #expect(H2RawClient.status(head.payload) == 200)
        var peak = 0
        let end = Date().addingTimeInterval(2)
        while Date() < end {
            peak = max(peak, try bed.proxy.residentBytes())
            usleep(50_000)
        }
        #expect(peak < Sanitizers.rssBound(64 << 20), "proxy RSS reached \(peak >> 20) MiB while the client's window was 0")
        // Open 4 MiB on both windows: exactly that much arrives, in order.
        let open = 4 << 20
        try c.windowUpdate(stream: 0, UInt32(open))
        try c.windowUpdate(stream: 1, UInt32(open))
        var received: [UInt8] = []
        _ = try c.read(until: { f in
            if f.type == Kind.data && f.stream == 1 { received += f.payload }
            return received.count >= open
        })
        #expect(received.count == open)
        #expect(received == UpstreamFixture.pattern(open))
        try c.send(type: Kind.rstStream, stream: 1, payload: H2RawClient.be(Code.cancel, 4))
        let line = try #require(try bed.proxy.waitForAccessLog(count: 1).first)
        #expect(line["protocol"] as? String == "HTTP/2")
        #expect((line["bytes_out"] as? Int ?? 0) < size)
    }
}
