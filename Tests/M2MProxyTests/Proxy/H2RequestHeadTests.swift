import Testing
@testable import M2MProxy

/// An HTTP/2 stream's head given as values (`H2RequestHead.layOut`, no parse) and the same head
/// written as HTTP/1.1 bytes and parsed by llhttp (`writeHTTP1`) give the phases the same head:
/// the same bytes and spans, the same parser state, the same `requestFilter` decisions.
@Suite struct H2RequestHeadTests {
    typealias Field = (String, String)

    static func gathered(_ pseudo: [Field], _ fields: [Field], limit: Int = 16384) -> H2RequestHead {
        let h = H2RequestHead(limit: limit)
        for (n, v) in pseudo + fields {
            Array(n.utf8).withUnsafeBytes { nb in Array(v.utf8).withUnsafeBytes { h.field(name: nb, value: $0) } }
        }
        return h
    }

    static func get(_ path: String, _ fields: [Field] = [], method: String = "GET") -> H2RequestHead {
        gathered([(":method", method), (":scheme", "http"), (":path", path), (":authority", "shop:8080")], fields)
    }

    /// What a parser (and `requestFilter` after it) reports about a head.
    struct Seen: Equatable {
        var method = "", url = "", headers: [[String]] = []
        /// Method code, version, keep-alive, upgrade; and the framing flags and length.
        var version = "", framing = ""
        var outcome = "", target = "", authority = "", host = "", hasBody = false, isHEAD = false
        var kinds: [String] = [], xff = 0, expect = false, route: String?, requestID = "", replaces = false

        /// A fresh environment each: generated request ids count per environment.
        init(_ p: HTTPParser, _ env: PhaseTestEnvironment = PhaseTestEnvironment(config: ReverseProxyPhasesTests.config)) {
            method = p.method.makeString()
            url = p.url.makeString()
            headers = (0..<p.headerCount).map { [p.headers[$0].name.makeString(), p.headers[$0].value.makeString()] }
            version = "\(p.methodCode) HTTP/\(p.httpMajor).\(p.httpMinor) keep-alive \(p.shouldKeepAlive) upgrade \(p.isUpgrade)"
            framing = "chunked \(p.isChunked) te \(p.hasTransferEncoding) length \(p.hasContentLength ? String(p.contentLength) : "none")"
            let kindTable = UnsafeMutablePointer<HeaderKind>.allocate(capacity: 128)
            defer { kindTable.deallocate() }
            var ctx = RequestContext()
            ctx.peer = IPAddress.parse("10.1.2.3")!
            let log = RequestLog()
            outcome = "\(ReverseProxyPhases().requestFilter(&ctx, RequestHead(parser: p, kinds: kindTable), log, env))"
            target = ctx.target.makeString()
            authority = ctx.authority.makeString()
            host = ctx.hostHeader.makeString()
            hasBody = ctx.hasBody
            isHEAD = ctx.isHEAD
            kinds = (0..<ctx.requestHeaderCount).map { "\(kindTable[$0])" }
            xff = ctx.xffCount
            expect = ctx.expectContinue
            route = ctx.route?.config.name
            replaces = log.replacesClientID
            requestID = replaces ? "" : log.requestID.makeString()
        }
    }

    /// Checks both ways agree on `h` (followed by `body`, as the bridge writes it into the pair,
    /// when `bodyFollows`), and returns what the values way saw.
    @discardableResult
    static func agree(
        _ h: H2RequestHead, bodyFollows: Bool = false, body: [UInt8] = [], sourceLocation: SourceLocation = #_sourceLocation
    ) -> Seen? {
        let chunked = bodyFollows && !h.hasContentLength
        let out = GrowableBytes(capacity: 64)
        h.writeHTTP1(into: out, chunked: chunked)
        let bytes = Array(out.bytes)
        #expect(bytes.count == h.headLength(chunked: chunked), sourceLocation: sourceLocation)
        let parsed = HTTPParser(kind: .request)
        parsed.isForbiddenTrailer = RequestValidation.isForbiddenTrailerName
        let byParse: Seen? = bytes.withUnsafeBytes { b in
            guard case .headersComplete(let n) = parsed.execute(b.baseAddress!, b.count), n == b.count else { return nil }
            parsed.resume()
            return Seen(parsed)
        }
        guard let byParse else {
            Issue.record("llhttp refused \(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
            return nil
        }
        guard let code = h.methodCode, h.givesValues else {
            Issue.record("not a head the values path takes", sourceLocation: sourceLocation)
            return nil
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 8)
        let table = UnsafeMutablePointer<HeaderSpan>.allocate(capacity: 128)
        defer { buffer.deallocate(); table.deallocate() }
        let given = HTTPParser(kind: .request, maxHeaders: 0)
        given.isForbiddenTrailer = RequestValidation.isForbiddenTrailerName
        given.lendHeaders(table, capacity: 128)
        #expect(h.layOut(at: buffer, methodCode: code, bodyFollows: bodyFollows, parser: given) == bytes.count, sourceLocation: sourceLocation)
        #expect(Array(UnsafeRawBufferPointer(start: buffer, count: bytes.count)) == bytes, sourceLocation: sourceLocation)
        let byValues = Seen(given)
        #expect(byValues == byParse, sourceLocation: sourceLocation)
        if bodyFollows {
            // The body's bytes, one at a time and all at once: the same events, the same count.
            #expect(events(given, body) == events(parsed, body), sourceLocation: sourceLocation)
        }
        return byValues
    }

    /// What a parser reports for `body` fed in pieces of `step` bytes (then a last empty call).
    static func events(_ p: HTTPParser, _ body: [UInt8], step: Int = 7) -> [String] {
        var seen: [String] = []
        body.withUnsafeBytes { b in
            var off = 0
            while true {
                let n = min(step, b.count - off)
                let e = p.execute(b.baseAddress! + off, n)
                seen.append("\(e) \(p.bodyBytes)")
                if case .messageComplete = e { p.resume(); break }
                if case .error = e { break }
                off += n
                if n == 0 { break }
            }
        }
        return seen
    }

    @Test func getWithFieldsIsTheParsedHead() throws {
        let seen = try #require(Self.agree(Self.get("/api/x?q=1", [
            ("accept", "*/*"), ("user-agent", "h2load"), ("x-forwarded-for", "192.0.2.1"),
            ("authorization", "Bearer client"), ("x-request-id", "abc-123"), ("cookie", "a=1"), ("cookie", "b=2"),
        ])))
        #expect(seen.route == "api" && seen.outcome == "proceed" && seen.host == "shop:8080")
        #expect(seen.xff == 1 && seen.requestID == "abc-123" && seen.version == "1 HTTP/1.1 keep-alive true upgrade false")
    }

    @Test func methodsBodiesAndFraming() {
        Self.agree(Self.get("/rest", [("content-length", "0")], method: "POST"))
        Self.agree(Self.get("/rest", [("content-length", "0")], method: "POST"), bodyFollows: true)
        Self.agree(Self.get("/rest", [("content-length", "42"), ("content-type", "application/grpc")], method: "PUT"))
        Self.agree(Self.get("/rest", [("expect", "100-continue"), ("content-length", "3")], method: "PATCH"))
        for m in ["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"] { Self.agree(Self.get("/", method: m)) }
    }

    /// A body after a head given as values (a primed parser) parses as after the parsed head:
    /// content-length and chunked bodies, trailers, a forbidden trailer, bad framing.
    @Test func bodiesAfterAGivenHeadParseAsAfterTheParsedHead() throws {
        let body = Array("hello, world".utf8)
        for length in ["12", "1", "0", "12345678901"] {
            let s = try #require(Self.agree(Self.get("/rest", [("content-length", length)], method: "POST"), bodyFollows: true, body: body))
            #expect(s.framing == "chunked false te false length \(length)" && s.hasBody == (length != "0"))
        }
        let chunked = Self.get("/rest", [("te", "trailers"), ("content-type", "application/grpc")], method: "POST")
        let s = try #require(Self.agree(chunked, bodyFollows: true, body: Array("5\r\nhello\r\n0\r\n\r\n".utf8)))
        #expect(s.framing == "chunked true te true length none" && s.hasBody && s.kinds.last == "transferEncoding")
        for body in ["c\r\nhello, world\r\n3\r\nabc\r\n0\r\nx-checksum: 1\r\n\r\n",
                     "5\r\nhello\r\n0\r\nauthorization: Bearer smuggled\r\n\r\n",
                     "5\r\nhelloXX\r\n", "zz\r\n"] {
            Self.agree(Self.get("/rest", [], method: "PUT"), bodyFollows: true, body: Array(body.utf8))
        }
    }

    /// The phases refuse the same heads the same way.
    @Test func refusalsAreTheParsedHeadsRefusals() throws {
        let dots = try #require(Self.agree(Self.get("/api/%2e%2e/admin")))
        #expect(dots.outcome.contains("dot-segment"))
        #expect(try #require(Self.agree(Self.get("/api", [("x_under", "1")]))).outcome == "proceed")
        #expect(try #require(Self.agree(Self.get("/api", [("x-request-id", "a"), ("x-request-id", "b")]))).replaces)
        let noHost = try #require(Self.agree(Self.gathered([(":method", "GET"), (":path", "/api")], [])))
        #expect(noHost.host == "" && noHost.route == "api")
        // A `host` field stands in for a missing :authority.
        let host = Self.gathered([(":method", "GET"), (":scheme", "http"), (":path", "/api")], [("host", "h1")])
        #expect(host.complete(endStream: true) && host.authority.bytes.elementsEqual("h1".utf8))
        Self.agree(host)
    }

    /// Heads only llhttp decides on go as bytes.
    @Test func unusualHeadsAreLeftToTheParser() {
        #expect(Self.get("*", method: "OPTIONS").givesValues == false)
        #expect(Self.get("/a#b").givesValues == false)
        #expect(Self.get("/caf\u{e9}").givesValues == false)
        #expect(Self.get("/x", method: "PROPFIND").methodCode == nil)
        #expect(Self.get("/x", method: "get").methodCode == nil)
        #expect(H2RequestHead.decimal(UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
        #expect(Array("18446744073709551615".utf8).withUnsafeBytes { H2RequestHead.decimal($0) } == UInt64.max)
    }

    /// Every byte `givesValues` lets through in a target, llhttp takes there too.
    @Test func everyTargetByteTheValuesPathTakesLlhttpTakes() throws {
        for b in UInt8(0x21)...UInt8(0x7e) where b != UInt8(ascii: "#") {
            let path = "/a" + String(UnicodeScalar(b)) + "b?c" + String(UnicodeScalar(b))
            let h = Self.get(path)
            #expect(h.givesValues, "\(b)")
            let seen = try #require(Self.agree(h), "\(b)")
            #expect(seen.url == path)
        }
    }

    /// The word-at-a-time target check (8 bytes and more) takes exactly the bytes the byte
    /// loop takes: every byte value, at every position, in targets of 8 to 24 bytes.
    @Test func longTargetsAreCheckedAsByteByByte() {
        for length in 8...24 {
            for at in 1..<length {
                for b in 0...255 {
                    var bytes = Array(repeating: UInt8(ascii: "a"), count: length)
                    bytes[0] = UInt8(ascii: "/")
                    bytes[at] = UInt8(b)
                    let h = H2RequestHead(limit: 4096)
                    Array(":path".utf8).withUnsafeBytes { n in bytes.withUnsafeBytes { h.field(name: n, value: $0) } }
                    let takes = b >= 0x21 && b <= 0x7e && b != UInt8(ascii: "#")
                    #expect(h.givesValues == takes, "length \(length), byte \(b) at \(at)")
                }
            }
        }
    }

    /// Every byte nghttp2 lets through in a field (RFC 9113 §8.2.1: a lowercase token name; a
    /// value of visible ASCII, obs-text, SP and HTAB not at its ends), llhttp takes too.
    @Test func everyFieldByteNghttp2TakesLlhttpTakes() {
        let tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
        for c in tchars { Self.agree(Self.get("/rest", [("x" + String(c), "v")])) }
        for b in [UInt8(9), 0x20] + Array(UInt8(0x21)...UInt8(0x7e)) + Array(UInt8(0x80)...UInt8(0xff)) {
            let h = H2RequestHead(limit: 4096)
            for (n, v) in [(":method", "GET"), (":path", "/rest"), (":authority", "a")] {
                Array(n.utf8).withUnsafeBytes { nb in Array(v.utf8).withUnsafeBytes { h.field(name: nb, value: $0) } }
            }
            Array("x-v".utf8).withUnsafeBytes { nb in [UInt8(ascii: "a"), b, UInt8(ascii: "z")].withUnsafeBytes { h.field(name: nb, value: $0) } }
            Self.agree(h)
        }
    }

    /// `HTTPMethod.commonCode` is llhttp's code for each method it knows.
    @Test func commonMethodCodesAreLlhttps() throws {
        for m in ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"] {
            let code = try #require(Array(m.utf8).withUnsafeBytes { HTTPMethod.commonCode($0) })
            #expect(code == HTTPMethod.code(named: m))
        }
    }

    /// RFC 9113 §8.1.1, §8.2 and §8.3.1, which nghttp2's HTTP messaging checked before: each
    /// head here is malformed (the stream is reset with PROTOCOL_ERROR). The integration suite
    /// `HTTP2MalformedRequestTests` sends the same over the wire.
    @Test(arguments: [
        [("x-Upper", "a")], [("x y", "a")], [("x:y", "a")], [("", "a")], [("x-a", "a\r\nx-b: c")], [("x-a", "a\u{0}")],
        [("x-a", " a")], [("x-a", "a\t")], [("connection", "close")], [("keep-alive", "1")], [("proxy-connection", "x")],
        [("transfer-encoding", "chunked")], [("upgrade", "h2c")], [("te", "gzip")], [("content-length", "+1")],
        [("content-length", "1"), ("content-length", "1")], [("content-length", "99999999999999999999")],
        [("host", "a b")], [("host", "a"), ("host", "a")], [("host", "")],
    ] as [[Field]])
    func malformedFields(_ fields: [Field]) {
        let h = Self.get("/x", fields)
        #expect(h.malformed && !h.complete(endStream: false), "\(fields)")
    }

    @Test(arguments: [
        [(":method", "GET"), (":scheme", "http"), (":authority", "a")],
        [(":method", "GET"), (":path", "/"), (":authority", "a")],
        [(":scheme", "http"), (":path", "/"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":path", "/")],
        [(":method", "GET"), (":scheme", "http"), (":path", "x"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "https"), (":path", "*"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":path", ""), (":authority", "a")],
        [(":method", "GET"), (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":path", "/"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":scheme", "http"), (":path", "/"), (":authority", "a")],
        [(":method", "G T"), (":scheme", "http"), (":path", "/"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "1http"), (":path", "/"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":path", "/a b"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a b")],
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":status", "200"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":protocol", "websocket"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":Path", "/"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":pathx", "/"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":pXth", "/"), (":authority", "a")],
        [(":methoX", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a")],
        [(":method", "GET"), (":schemX", "http"), (":path", "/"), (":authority", "a")],
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authoritX", "a")],
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("x-a", "b"), (":authority", "a")],
        [(":method", "CONNECT"), (":scheme", "http"), (":path", "/"), (":authority", "a")],
        [(":method", "CONNECT")],
    ] as [[Field]])
    func malformedPseudoHeaders(_ pseudo: [Field]) {
        let h = Self.gathered(pseudo, [])
        #expect(!h.complete(endStream: true), "\(pseudo)")
    }

    @Test func wellFormedHeads() {
        #expect(Self.get("/x").complete(endStream: true))
        #expect(Self.get("/x", [("te", "trailers"), ("x-a", "a \t b"), ("x-e", "")]).complete(endStream: true))
        #expect(Self.get("/x", [("content-length", "0")]).complete(endStream: true))
        #expect(Self.get("/x", [("content-length", "5")]).complete(endStream: false))
        // A content-length above 0 on a HEADERS that ends the stream announces a body never sent.
        #expect(!Self.get("/x", [("content-length", "5")]).complete(endStream: true))
        #expect(Self.get("*", method: "OPTIONS").complete(endStream: true))
        #expect(Self.gathered([(":method", "GET"), (":scheme", "HTTPS"), (":path", "/"), (":authority", "a")], []).complete(endStream: true))
        // Another scheme puts no form on :path.
        #expect(Self.gathered([(":method", "GET"), (":scheme", "foo"), (":path", "x"), (":authority", "a")], []).complete(endStream: true))
        #expect(Self.gathered([(":method", "CONNECT"), (":authority", "a:443")], []).complete(endStream: true))
        let p = Self.get("/x", [("priority", "u=1, i")])
        #expect(p.hasPriority && p.priority == H2PriorityField(urgency: 1, incremental: true))
        let bad = Self.get("/x", [("priority", "u=9")])
        #expect(bad.hasPriority && bad.priority == nil && bad.complete(endStream: true))
        // Reset for the next stream.
        bad.reset()
        #expect(!bad.hasPriority && !bad.malformed && !bad.complete(endStream: true))
    }

    /// Past the limit fields are no longer kept, and the head is then over the limit.
    @Test func overTheLimitStopsKeepingFields() {
        let h = Self.gathered([(":method", "GET"), (":path", "/")], [("x-a", String(repeating: "a", count: 300)), ("x-b", "b")], limit: 200)
        #expect(h.overLimit && h.fieldCount == 1)
        #expect(h.headLength(chunked: false) > 200)
        h.reset()
        #expect(h.fieldCount == 0 && !h.overLimit && h.method.isEmpty && !h.hasContentLength)
    }
}
