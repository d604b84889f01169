import Testing
@testable import M2MProxy

@Suite struct AccessLogLineBuilderTests {
    /// Builds one line from byte strings (kept alive for the call).
    private func line(
        method: String = "GET", target: String, requestID: String = "0123456789abcdef", routeIndex: Int? = 0,
        status: Int = 200, upstreamNs: UInt64? = 1_500_000, error: String? = nil, upstreamError: UpstreamErrorKind? = nil,
        routeNames: [String] = ["shop"]
    ) -> String {
        var builder = AccessLogLineBuilder(routeNames: routeNames, upstreams: ["10.0.0.1:8080"])
        let out = OutputBuffer(capacity: AccessLogLineBuilder.maxLineBytes)
        let m = Array(method.utf8), t = Array(target.utf8), id = Array(requestID.utf8)
        m.withUnsafeBytes { mb in
            t.withUnsafeBytes { tb in
                id.withUnsafeBytes { ib in
                    func span(_ b: UnsafeRawBufferPointer) -> ByteSpan {
                        b.count == 0 ? .empty : ByteSpan(base: b.baseAddress!, count: b.count)
                    }
                    builder.append(AccessLogLineBuilder.Record(
                        wallSeconds: 1_700_000_000, wallNanos: 123_456_789, requestID: span(ib), routeIndex: routeIndex,
                        method: span(mb), target: span(tb), status: status, bytesIn: 100, bytesOut: 2048,
                        durationNs: 12_345_678, upstreamNs: upstreamNs, tokenWaitNs: 0, error: error,
                        upstreamError: upstreamError), into: out)
                }
            }
        }
        return String(decoding: out.bytes, as: UTF8.self)
    }

    @Test func successLine() throws {
        let text = line(target: "/products/42?token=secret")
        #expect(text == #"{"time":"2023-11-14T22:13:20.123Z","request_id":"0123456789abcdef","client":"","route":"shop","method":"GET","protocol":"HTTP/1.1","path":"/products/42","status":200,"bytes_in":100,"bytes_out":2048,"duration_ms":12.345,"upstream_ms":1.500,"upstream":"10.0.0.1:8080","token_wait_ms":0.000,"error":null,"upstream_error":null}"# + "\n")
        let json = try JSONParser.parse(text)
        #expect(json["path"] == .string("/products/42"))
        #expect(!text.contains("secret"))
    }

    @Test func errorLineWithoutRoute() throws {
        let text = line(target: "/x", routeIndex: nil, status: 502, upstreamNs: nil, error: "upstream_unavailable", upstreamError: .reset)
        let json = try JSONParser.parse(text)
        #expect(json["route"] == .null)
        #expect(json["upstream"] == .null)
        #expect(json["upstream_ms"] == .null)
        #expect(json["status"] == .number(502))
        #expect(json["error"] == .string("upstream_unavailable"))
        #expect(json["upstream_error"] == .string("reset"))
    }

    @Test func pathBytesAreEscaped() throws {
        let raw = "/a\"b\\c\u{01}\n\t\u{7F}é"
        let text = line(target: raw)
        #expect(text.contains(#""path":"/a\"b\\c\u0001\n\u0009\u007f\u00c3\u00a9""#))
        // Still one line, and valid JSON.
        #expect(text.filter { $0 == "\n" }.count == 1)
        let json = try JSONParser.parse(text)
        #expect(json["path"] == .string("/a\"b\\c\u{01}\n\t\u{7F}\u{C3}\u{A9}"))
    }

    @Test func routeNamesAndMethodAreEscaped() throws {
        let text = line(method: "G\"T", target: "/", routeNames: ["r\"1\n"])
        let json = try JSONParser.parse(text)
        #expect(json["route"] == .string("r\"1\n"))
        #expect(json["method"] == .string("G\"T"))
    }

    @Test func longPathsAreCut() throws {
        let long = "/" + String(repeating: "a", count: AccessLogLineBuilder.maxPathBytes + 100)
        let text = line(target: long)
        let path = try #require(try JSONParser.parse(text)["path"]?.stringValue)
        #expect(path.count == AccessLogLineBuilder.maxPathBytes + 3)
        #expect(path.hasSuffix("..."))
    }

    @Test func generatedRequestIDs() {
        let g = RequestIDGenerator(prefix: 0xdead_beef)
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes.withUnsafeMutableBytes { g.next(into: $0.baseAddress!) }
        #expect(String(decoding: bytes, as: UTF8.self) == "deadbeef00000001")
        bytes.withUnsafeMutableBytes { g.next(into: $0.baseAddress!) }
        #expect(String(decoding: bytes, as: UTF8.self) == "deadbeef00000002")
    }

    @Test func hexDigitsOfEveryNibble() {
        for x: UInt32 in [0, 0x0123_4567, 0x89ab_cdef, 0xffff_ffff, 0x1000_000a, 0x9a9a_0f0f] {
            let word = RequestIDGenerator.hexDigits(x)
            let text = withUnsafeBytes(of: word) { String(decoding: $0, as: UTF8.self) }
            let hex = String(x, radix: 16)
            #expect(text == String(repeating: "0", count: 8 - hex.count) + hex)
        }
    }

    @Test func clientRequestIDSanity() {
        func sane(_ s: String) -> Bool {
            Array(s.utf8).withUnsafeBytes { b in
                RequestLog.isSane(b.count == 0 ? .empty : ByteSpan(base: b.baseAddress!, count: b.count))
            }
        }
        #expect(sane("abc-123_XYZ.~"))
        #expect(sane(String(repeating: "x", count: 128)))
        #expect(!sane(String(repeating: "x", count: 129)))
        #expect(!sane(""))
        #expect(!sane("a b"))
        #expect(!sane("a\u{7F}"))
        #expect(!sane("é"))
    }
}
