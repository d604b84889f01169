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

    /// The names `classify` knows, with the kind each one is.
    static let known: [(String, HeaderKind)] = [
        ("te", .te), ("host", .host), ("expect", .expect), ("trailer", .trailer), ("upgrade", .upgrade),
        ("connection", .connection), ("keep-alive", .keepAlive), ("x-request-id", .xRequestID),
        ("authorization", .authorization), ("content-length", .contentLength), ("x-forwarded-for", .xForwardedFor),
        ("proxy-connection", .proxyConnection), ("x-forwarded-host", .xForwardedHost),
        ("transfer-encoding", .transferEncoding), ("x-forwarded-proto", .xForwardedProto),
        ("proxy-authorization", .proxyAuthorization),
    ]

    /// The plain table `classify` must agree with: each known name compared byte by byte, with
    /// bit 0x20 set in the name's byte (the documented rule of `ByteSpan.equalsLowercase`).
    private static func reference(_ name: [UInt8]) -> HeaderKind {
        for (n, k) in known where n.utf8.count == name.count {
            if zip(name, n.utf8).allSatisfy({ $0 | 0x20 == $1 }) { return k }
        }
        return .other
    }

    /// Every known name in several cases, with each byte changed, cut, extended, and random
    /// names of every length: the word-wise `classify` answers as the byte-wise table does.
    @Test func classifyAgreesWithByteWiseTable() {
        var rng = SystemRandomNumberGenerator()
        var names: [[UInt8]] = []
        let others = ["date", "server", "content-type", "etag", "accept-ranges", "last-modified", "via", "x-custom",
                      "cache-control", "set-cookie", "vary", "location", "content-encoding", "x_forwarded_for", "content_length"]
        for (n, _) in Self.known {
            let b = Array(n.utf8)
            names.append(b)
            names.append(Array(n.uppercased().utf8))
            for _ in 0..<32 {
                names.append(b.map { c in Bool.random(using: &rng) ? Array(String(UnicodeScalar(c)).uppercased().utf8)[0] : c })
            }
            for i in 0..<b.count {
                // Near-misses at every position: a neighbouring letter, `_` for `-`, bytes that
                // differ from the expected one only in bit 0x20 or in one other bit.
                for replacement: UInt8 in [b[i] &+ 1, b[i] &- 1, b[i] ^ 0x20, b[i] ^ 0x40, b[i] ^ 0x01, b[i] ^ 0x80, 0x5F, 0x2D, 0x00] {
                    var m = b
                    m[i] = replacement
                    names.append(m)
                }
                var cut = b
                cut.remove(at: i)
                names.append(cut)
            }
            names.append(b + [UInt8(ascii: "s")])
            names.append([UInt8(ascii: "x")] + b)
            names.append(Array(b.dropLast()))
        }
        names += others.map { Array($0.utf8) } + others.map { Array($0.uppercased().utf8) }
        for length in 0...24 {
            for _ in 0..<64 { names.append((0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
            for _ in 0..<64 { names.append((0..<length).map { _ in Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_0123456789".utf8).randomElement(using: &rng)! }) }
        }
        for name in names {
            var copy = name
            let got = copy.withUnsafeMutableBytes { HeaderKind.classify(ByteSpan(base: $0.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, count: $0.count)) }
            #expect(got == Self.reference(name), "\(name)")
        }
    }

    /// `equalsLowercase` with literals of every length from 0 to 24: equal names in any case
    /// match, and a change at any single position does not.
    @Test func equalsLowercaseEveryLengthAndPosition() {
        func check(_ name: [UInt8], _ lower: StaticString) -> Bool {
            var copy = name
            return copy.withUnsafeMutableBytes { ByteSpan(base: $0.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, count: $0.count).equalsLowercase(lower) }
        }
        let literals: [StaticString] = [
            "", "a", "te", "abc", "host", "close", "expect", "chunked", "identity", "x-request",
            "keep-alive", "abcdefghijk", "x-request-id", "100-continue", "authorization", "content-length", "x-forwarded-for",
            "proxy-connection", "transfer-encoding", "x-forwarded-proto", "abcdefghijklmnopqr", "proxy-authorization",
            "abcdefghijklmnopqrst", "abcdefghijklmnopqrstu", "abcdefghijklmnopqrstuv", "abcdefghijklmnopqrstuvw",
            "abcdefghijklmnopqrstuvwx",
        ]
        for lit in literals {
            let b = Array(UnsafeBufferPointer(start: lit.utf8Start, count: lit.utf8CodeUnitCount))
            #expect(check(b, lit))
            #expect(check(Array(String(decoding: b, as: UTF8.self).uppercased().utf8), lit))
            #expect(!check(b + [0x61], lit))
            if !b.isEmpty { #expect(!check(Array(b.dropFirst()), lit)) }
            for i in 0..<b.count {
                for replacement: UInt8 in [b[i] &+ 1, b[i] ^ 0x01, b[i] ^ 0x80, 0x7F] {
                    var m = b
                    m[i] = replacement
                    #expect(!check(m, lit), "\(lit) at \(i)")
                }
            }
        }
    }

    /// Whole values, recognised before any splitting, in any case and with whitespace around
    /// them; anything else still goes through the split.
    @Test func connectionTokensWholeValues() {
        func tokens(_ value: String) -> ConnectionTokens {
            var t = ConnectionTokens()
            var v = Array(value.utf8)
            v.withUnsafeMutableBytes { t.add(value: ByteSpan(base: $0.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, count: $0.count)) }
            return t
        }
        for v in ["keep-alive", "Keep-Alive", "KEEP-ALIVE", " keep-alive ", "\tkeep-alive"] {
            let t = tokens(v)
            #expect(t.keepAlive && !t.close && !t.upgrade && t.count == 0, "\(v)")
        }
        for v in ["close", "Close", "CLOSE", "close ", " close"] {
            let t = tokens(v)
            #expect(t.close && !t.keepAlive && t.count == 0, "\(v)")
        }
        let both = tokens("close, keep-alive")
        #expect(both.close && both.keepAlive && both.count == 0)
        let other = tokens("keep-alivex")
        #expect(!other.keepAlive && other.count == 1)
        let upgrade = tokens("Upgrade")
        #expect(upgrade.upgrade && upgrade.count == 0)
        #expect(tokens("").count == 0)
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

    /// `droppedTowardClientSet` (the response head's one test per header) is exactly the kinds
    /// `droppedTowardClient` says, and every kind has a bit of its own.
    @Test func droppedTowardClientSetMatchesTheTable() {
        var kinds = 0
        for raw in UInt8(0)..<32 {
            guard let k = HeaderKind(rawValue: raw) else { continue }
            kinds += 1
            #expect(k.bit == 1 << UInt32(raw))
            #expect((HeaderKind.droppedTowardClientSet & k.bit != 0) == k.droppedTowardClient, "\(k)")
        }
        #expect(kinds == 18)
        #expect(HeaderKind(rawValue: 18) == nil)
    }
}

/// The word-at-a-time scans of the request target.
@Suite struct ByteSpanScanTests {
    private func span<R>(_ s: String, _ body: (ByteSpan) -> R) -> R {
        var b = Array(s.utf8)
        return b.withUnsafeMutableBytes { body(ByteSpan(base: $0.baseAddress!, count: $0.count)) }
    }

    @Test func firstIndexAtEveryPosition() {
        for length in 0..<40 {
            for at in 0...length {
                let text = String(repeating: "a", count: at) + (at < length ? "?" : "") + String(repeating: "b", count: max(length - at - 1, 0))
                #expect(span(text) { $0.firstIndex(of: UInt8(ascii: "?")) } == at, "\(text)")
            }
        }
        #expect(span("a?b?") { $0.firstIndex(of: UInt8(ascii: "?")) } == 1)
        // Two matches anywhere (the second one possibly in the overlapping last word, or a
        // byte above the first one that the zero-byte test may flag too): the first one wins.
        for length in 2..<40 {
            for first in 0..<(length - 1) {
                for second in (first + 1)..<length {
                    var b = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    b[first] = UInt8(ascii: "?")
                    b[second] = UInt8(ascii: "?")
                    let text = String(decoding: b, as: UTF8.self)
                    #expect(span(text) { $0.firstIndex(of: UInt8(ascii: "?")) } == first, "\(text)")
                }
            }
        }
        // Bytes one above the searched one next to it (the borrow case of the word test).
        #expect(span("aaaaaa?@aaaaaaaa") { $0.firstIndex(of: UInt8(ascii: "?")) } == 6)
        #expect(span("@@@@@@@@@@@@@@@?") { $0.firstIndex(of: UInt8(ascii: "?")) } == 15)
    }

    @Test func containsEitherAtEveryPosition() {
        for length in 1..<40 {
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

    /// The target scan of `validate`: `?`, `.` or `%` anywhere.
    @Test func containsAnyAtEveryPosition() {
        let any: (ByteSpan) -> Bool = { $0.containsAny(UInt8(ascii: "?"), UInt8(ascii: "."), UInt8(ascii: "%")) }
        for length in 1..<40 {
            for at in 0..<length {
                for c in ["?", ".", "%"] {
                    let text = String(repeating: "/", count: at) + c + String(repeating: "x", count: length - at - 1)
                    #expect(span(text, any), "\(text)")
                }
            }
            #expect(!span(String(repeating: "/-az09", count: length), any))
        }
        #expect(!span("/->0$&\u{00AE}\u{00A5}/abc@", any))
    }
}
