import Testing
@testable import M2MProxy

@Suite struct HeaderKindTests {
    private func kind(_ name: String) -> HeaderKind {
        var b = Array(name.utf8)
        return b.withUnsafeMutableBytes { HeaderKind.classify(ByteSpan(base: $0.baseAddress!, count: $0.count)) }
    }

    /// The head buffer's kind table has one byte per header (`BufferPool.kindSlotBytes`).
    @Test func fitsABufferPoolSlot() {
        #expect(MemoryLayout<HeaderKind>.stride <= BufferPool.kindSlotBytes)
    }

    @Test func hopByHopNamesAnyCase() {
        for n in ["Connection", "keep-alive", "PROXY-CONNECTION", "TE", "Trailer", "Upgrade", "Proxy-Authorization"] {
            #expect(kind(n).isHopByHop, "\(n)")
        }
        for n in ["Host", "Authorization", "Content-Length", "Transfer-Encoding", "X-Custom", "Expect"] {
            #expect(!kind(n).isHopByHop, "\(n)")
        }
    }

    /// The per-direction table: hop-by-hop names go nowhere; the ones the proxy writes itself
    /// (Host, X-Forwarded-*) or answers (Expect) stay out of the upstream head only; end-to-end
    /// headers pass both ways.
    @Test func perDirectionTable() {
        for n in ["Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade", "Proxy-Authorization"] {
            #expect(kind(n).droppedTowardUpstream && kind(n).droppedTowardClient, "\(n)")
        }
        for n in ["Host", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Expect"] {
            #expect(kind(n).droppedTowardUpstream && !kind(n).droppedTowardClient, "\(n)")
        }
        for n in ["Authorization", "Content-Length", "Transfer-Encoding", "X-Request-Id", "X-Custom"] {
            #expect(!kind(n).droppedTowardUpstream && !kind(n).droppedTowardClient, "\(n)")
        }
    }

    @Test func recognisedNames() {
        #expect(kind("HOST") == .host)
        #expect(kind("authorization") == .authorization)
        #expect(kind("X-Forwarded-For") == .xForwardedFor)
        #expect(kind("X-Request-Id") == .xRequestID)
        #expect(kind("x-request-iD") == .xRequestID)
        #expect(kind("x-forwarded-host") == .xForwardedHost)
        #expect(kind("X-Forwarded-Proto") == .xForwardedProto)
        #expect(kind("Hosts") == .other)
        #expect(kind("") == .other)
    }

    @Test func connectionTokensNameExtraHopByHopHeaders() {
        var t = ConnectionTokens()
        var v = Array(" close , X-Secret-Hop,keep-alive".utf8)
        var n1 = Array("x-secret-hop".utf8)
        var n2 = Array("X-Other".utf8)
        v.withUnsafeMutableBytes { vb in
            t.add(value: ByteSpan(base: vb.baseAddress!, count: vb.count))
            #expect(t.close)
            #expect(t.keepAlive)
            #expect(t.count == 1)
            n1.withUnsafeMutableBytes { #expect(t.names(ByteSpan(base: $0.baseAddress!, count: $0.count))) }
            n2.withUnsafeMutableBytes { #expect(!t.names(ByteSpan(base: $0.baseAddress!, count: $0.count))) }
        }
    }
}

/// The word-at-a-time scans of the request target.
@Suite struct ByteSpanScanTests {
    private func span<R>(_ s: String, _ body: (ByteSpan) -> R) -> R {
        var b = Array(s.utf8)
        return b.withUnsafeMutableBytes { body(ByteSpan(base: $0.baseAddress!, count: $0.count)) }
    }

    @Test func firstIndexAtEveryPosition() {
        for length in 0..<20 {
            for at in 0...length {
                let text = String(repeating: "a", count: at) + (at < length ? "?" : "") + String(repeating: "b", count: max(length - at - 1, 0))
                #expect(span(text) { $0.firstIndex(of: UInt8(ascii: "?")) } == at, "\(text)")
            }
        }
        #expect(span("a?b?") { $0.firstIndex(of: UInt8(ascii: "?")) } == 1)
    }

    @Test func containsEitherAtEveryPosition() {
        for length in 1..<20 {
            for at in 0..<length {
                for c in [".", "%"] {
                    let text = String(repeating: "/", count: at) + c + String(repeating: "x", count: length - at - 1)
                    #expect(span(text) { $0.containsEither(UInt8(ascii: "."), UInt8(ascii: "%")) }, "\(text)")
                }
            }
            #expect(!span(String(repeating: "/-az09", count: length)) { $0.containsEither(UInt8(ascii: "."), UInt8(ascii: "%")) })
        }
        // Bytes next to the searched ones, and high bytes, are no match.
        #expect(!span("/-/0$&\u{00AE}\u{00A5}/abc") { $0.containsEither(UInt8(ascii: "."), UInt8(ascii: "%")) })
    }
}
