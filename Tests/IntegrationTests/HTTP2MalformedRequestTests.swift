import Foundation
import Testing

/// One HTTP/2 request, as exact frames: its HEADERS block (`head`, every field as sent) and what
/// follows it on the stream (`then`; none: the HEADERS ends the stream).
struct H2RequestRow: Sendable, CustomTestStringConvertible {
    typealias Field = H2RawClient.Field

    enum Step: Sendable {
        case data([UInt8], end: Bool)
        case trailers([Field], end: Bool)
    }

    /// Unique across the suite: the request's path is `/malformed/<id>` (when its :path is one)
    /// and it carries `x-case: <id>` (when it has regular fields), so the upstream's log tells
    /// whether any of it got through.
    let id: String
    let note: String
    let head: [Field]
    let then: [Step]

    init(_ id: String, _ note: String, _ head: [Field], then: [Step] = []) {
        self.id = id
        self.note = note
        self.head = head
        self.then = then
    }

    var testDescription: String { "\(id): \(note)" }

    /// The frames of the request on `stream`, as one write: the row's frames arrive together,
    /// so a check that judged a body only per read or per frame (a content-length overrun split
    /// 5 + 1 would deliver a complete 5-byte body first) would let the row through.
    func frames(stream: UInt32) -> [UInt8] {
        var out = H2RawClient.frame(type: H2RawClient.Kind.headers, flags: then.isEmpty ? 5 : 4, stream: stream,
                                    payload: H2RawClient.block(head))
        for step in then {
            switch step {
            case .data(let bytes, let end):
                out += H2RawClient.frame(type: H2RawClient.Kind.data, flags: end ? 1 : 0, stream: stream, payload: bytes)
            case .trailers(let fields, let end):
                out += H2RawClient.frame(type: H2RawClient.Kind.headers, flags: end ? 5 : 4, stream: stream,
                                         payload: H2RawClient.block(fields))
            }
        }
        return out
    }
}

/// A valid request and what the upstream must receive of it.
struct H2ValidRow: Sendable, CustomTestStringConvertible {
    let request: H2RequestRow
    /// `[name, value]` the forwarded head must carry exactly once, the value as sent (upstream.py
    /// decodes bytes as Latin-1: byte 0xe9 is "\u{e9}").
    var forwarded: [[String]] = []
    /// Names the forwarded head must not carry (hop-by-hop: DESIGN.md §4).
    var absent: [String] = []
    var bodyLength = 0
    /// The chunked trailers the upstream must get (nil: the request is not chunked).
    var trailers: [[String]]? = nil

    var testDescription: String { request.testDescription }
}

/// RFC 9113 §8.1.1 and §8.2-8.3: a malformed request (a field name or value HTTP/1.1 cannot
/// carry, pseudo-headers missing, repeated, unknown or misplaced, connection-specific fields,
/// a content-length the DATA contradicts, bad :path/:authority/:scheme/:method, bad trailers) is
/// a stream error PROTOCOL_ERROR, and none of it may reach the HTTP/1.1 upstream: a CR or LF
/// passed through would let the client write its own header lines there. The connection stays
/// usable. Valid edge cases (te: trailers, obs-text, every tchar, empty values, host instead of
/// :authority, trailers) are forwarded as sent.
///
/// Written as the oracle for replacing nghttp2's HTTP messaging checks
/// (`nghttp2_option_set_no_http_messaging`) with the proxy's own. Every row passes with
/// nghttp2 1.52's checks (lib/nghttp2_http.c), including the rows marked "nghttp2: reset only
/// for want of a callback": there nghttp2_http.c asks to ignore the field, but a session without
/// `on_invalid_header_callback` (the proxy sets none) turns that into a stream error
/// (nghttp2_session.c `session_call_on_invalid_header`). With HTTP messaging off nghttp2 checks
/// none of this (no name, value, pseudo-header or content-length): every row is then the
/// proxy's own checks' to hold.
@Suite struct HTTP2MalformedRequestTests {
    typealias Row = H2RequestRow
    typealias F = H2RawClient.Field
    typealias Kind = H2RawClient.Kind

    // MARK: request builders

    static let authority = "client.test"
    static func path(_ id: String) -> String { "/malformed/\(id)" }

    /// The usual pseudo-headers of row `id`, in the usual order.
    static func pseudo(_ id: String, method: String = "GET") -> [F] {
        [F(":method", method), F(":scheme", "http"), F(":path", path(id)), F(":authority", authority)]
    }

    /// The usual head of row `id`: pseudo-headers, `x-case: id`, then `extra`.
    static func head(_ id: String, method: String = "GET", _ extra: [F] = []) -> [F] {
        pseudo(id, method: method) + [F("x-case", id)] + extra
    }

    /// A GET whose only oddity is the regular field `f`.
    static func field(_ id: String, _ note: String, _ f: F) -> Row { Row(id, note, head(id, [f])) }

    /// A GET with the usual pseudo-headers except that `:name` has `value`.
    static func pseudoValue(_ id: String, _ note: String, _ name: String, _ value: String) -> Row {
        Row(id, note, pseudo(id).map { $0.name == Array(name.utf8) ? F(name, value) : $0 } + [F("x-case", id)])
    }

    /// A POST of `body` in one DATA frame ending the stream, after `fields`.
    static func post(_ id: String, _ note: String, _ fields: [F], body: String) -> Row {
        Row(id, note, head(id, method: "POST", fields), then: [.data(Array(body.utf8), end: true)])
    }

    // MARK: malformed rows, by theme

    /// RFC 9113 §8.2.1: names are lowercase tokens (RFC 9110 §5.6.2 tchar).
    static let fieldNameRows: [Row] = [
        field("name-upper", "uppercase letter (X-Upper)", F("X-Upper", "a")),
        // nghttp2: reset only for want of a callback, every row below (see the suite's comment).
        field("name-paren", "( in a name", F("x(y", "a")),
        field("name-space", "SP in a name", F("x y", "a")),
        field("name-colon", ": inside a name", F("x:y", "a")),
        field("name-nul", "NUL in a name", F("x\u{0}y", "a")),
        field("name-htab", "HTAB in a name", F("x\ty", "a")),
        field("name-del", "DEL in a name", F("x\u{7f}", "a")),
        field("name-utf8", "é (0xc3 0xa9) in a name", F("xé", "a")),
        field("name-dquote", "\" in a name", F("x\"y", "a")),
        field("name-slash", "/ in a name", F("x/y", "a")),
        field("name-brace", "{ in a name", F("x{y", "a")),
        field("name-empty", "empty name", F("", "a")),
        field("name-crlf", "CR LF in a name (a second header line upstream)", F("x\r\nx-injected", "a")),
    ]

    /// RFC 9113 §8.2.1: no NUL, CR or LF anywhere in a value, no leading or trailing SP/HTAB;
    /// RFC 9110 §5.5: no other control byte either.
    static let fieldValueRows: [Row] = [
        // nghttp2: reset only for want of a callback, every row (see the suite's comment).
        field("value-cr", "CR in a value", F("x-v", "a\rb")),
        field("value-lf", "LF in a value", F("x-v", "a\nb")),
        field("value-nul", "NUL in a value", F("x-v", "a\u{0}b")),
        field("value-crlf", "CR LF in a value (a second header line upstream)", F("x-v", "a\r\nx-injected: 1")),
        field("value-del", "DEL in a value", F("x-v", "a\u{7f}b")),
        field("value-ctl", "0x01 in a value", F("x-v", "a\u{1}b")),
        field("value-lead-sp", "leading SP", F("x-v", " a")),
        field("value-trail-sp", "trailing SP", F("x-v", "a ")),
        field("value-lead-htab", "leading HTAB", F("x-v", "\ta")),
        field("value-trail-htab", "trailing HTAB", F("x-v", "a\t")),
    ]

    /// RFC 9113 §8.3: :method, :scheme and :path exactly once and not empty, no other
    /// pseudo-header (no :status in a request, :protocol only after SETTINGS_ENABLE_CONNECT_PROTOCOL),
    /// all before the regular fields.
    static let pseudoHeaderRows: [Row] = {
        func without(_ id: String, _ name: String) -> [F] {
            pseudo(id).filter { $0.name != Array(name.utf8) } + [F("x-case", id)]
        }
        func twice(_ id: String, _ name: String) -> [F] {
            pseudo(id).flatMap { $0.name == Array(name.utf8) ? [$0, $0] : [$0] } + [F("x-case", id)]
        }
        func plus(_ id: String, _ f: F) -> [F] { pseudo(id) + [f, F("x-case", id)] }
        return [
            Row("no-method", "no :method", without("no-method", ":method")),
            Row("no-path", "no :path", without("no-path", ":path")),
            Row("no-scheme", "no :scheme", without("no-scheme", ":scheme")),
            pseudoValue("empty-path", "empty :path", ":path", ""),
            pseudoValue("empty-method", "empty :method", ":method", ""),
            Row("dup-path", ":path twice (same value)", twice("dup-path", ":path")),
            Row("dup-method", ":method twice (same value)", twice("dup-method", ":method")),
            Row("dup-scheme", ":scheme twice (same value)", twice("dup-scheme", ":scheme")),
            Row("dup-authority", ":authority twice (same value)", twice("dup-authority", ":authority")),
            Row("pseudo-after-regular", ":authority after a regular field",
                [F(":method", "GET"), F(":scheme", "http"), F(":path", path("pseudo-after-regular")),
                 F("x-case", "pseudo-after-regular"), F(":authority", authority)]),
            Row("pseudo-status", ":status: 200 in a request", plus("pseudo-status", F(":status", "200"))),
            Row("pseudo-unknown", ":foo: x", plus("pseudo-unknown", F(":foo", "x"))),
            Row("pseudo-protocol", ":protocol: websocket (extended CONNECT not enabled)",
                plus("pseudo-protocol", F(":protocol", "websocket"))),
            Row("pseudo-upper", ":Path (uppercase pseudo name) beside :path",
                plus("pseudo-upper", F(":Path", path("pseudo-upper") + "-2"))),
        ]
    }()

    /// RFC 9113 §8.2.2: connection-specific fields are malformed, and TE with any value but
    /// "trailers".
    static let connectionSpecificRows: [Row] = [
        field("connection", "connection: keep-alive", F("connection", "keep-alive")),
        field("keep-alive", "keep-alive: timeout=5", F("keep-alive", "timeout=5")),
        field("proxy-connection", "proxy-connection: keep-alive", F("proxy-connection", "keep-alive")),
        field("transfer-encoding", "transfer-encoding: chunked", F("transfer-encoding", "chunked")),
        field("upgrade", "upgrade: websocket", F("upgrade", "websocket")),
        field("te-gzip", "te: gzip", F("te", "gzip")),
    ]

    /// RFC 9113 §8.1.1: a content-length that is not one number, or that the DATA frames
    /// contradict.
    static let contentLengthRows: [Row] = [
        post("cl-not-number", "content-length: 5a", [F("content-length", "5a")], body: "hello"),
        post("cl-twice", "content-length: 5 twice", [F("content-length", "5"), F("content-length", "5")], body: "hello"),
        post("cl-more-data", "content-length: 5, 6 bytes of DATA", [F("content-length", "5")], body: "hello!"),
        post("cl-less-data", "content-length: 5, 3 bytes of DATA", [F("content-length", "5")], body: "hel"),
        Row("cl-no-data", "content-length: 5 on a HEADERS that ends the stream",
            head("cl-no-data", method: "POST", [F("content-length", "5")])),
        Row("cl-more-split", "content-length: 5, DATA of 3 and 3 bytes",
            head("cl-more-split", method: "POST", [F("content-length", "5")]),
            then: [.data(Array("hel".utf8), end: false), .data(Array("lo!".utf8), end: true)]),
        post("cl-over-int64", "content-length: 2^63 (nghttp2 takes at most 2^63 - 1)",
             [F("content-length", "9223372036854775808")], body: "hello"),
    ]

    /// RFC 9113 §8.3.1, RFC 3986 §3.2 (authority), RFC 9110 §5.6.2 (method token), RFC 3986
    /// §3.1 (scheme): pseudo-header values that cannot be what they name.
    static let pseudoValueRows: [Row] = [
        pseudoValue("path-relative", ":path foo (not / with :scheme http)", ":path", "foo"),
        pseudoValue("path-space", ":path with a SP", ":path", path("path-space") + "/a b"),
        pseudoValue("path-cr", ":path with a CR", ":path", path("path-cr") + "/a\rb"),
        pseudoValue("path-asterisk", ":path * with GET (only OPTIONS)", ":path", "*"),
        pseudoValue("authority-space", ":authority with a SP", ":authority", "client test"),
        pseudoValue("authority-cr", ":authority with a CR", ":authority", "client.test\r"),
        pseudoValue("authority-nul", ":authority with a NUL", ":authority", "client\u{0}test"),
        Row("host-space", "host with a SP, no :authority",
            Array(pseudo("host-space").dropLast()) + [F("x-case", "host-space"), F("host", "client test")]),
        // nghttp2: reset only for want of a callback (host is checked as an authority).
        Row("host-space-with-authority", "host with a SP beside a valid :authority",
            head("host-space-with-authority", [F("host", "client test")])),
        pseudoValue("scheme-digit", ":scheme 1http", ":scheme", "1http"),
        pseudoValue("scheme-space", ":scheme ht tp", ":scheme", "ht tp"),
        pseudoValue("scheme-empty", "empty :scheme", ":scheme", ""),
        pseudoValue("method-space", ":method G T", ":method", "G T"),
        pseudoValue("method-cr", ":method GET\\r", ":method", "GET\r"),
        Row("no-authority", "neither :authority nor host",
            Array(pseudo("no-authority").dropLast()) + [F("x-case", "no-authority")]),
    ]

    /// RFC 9113 §8.1: a trailer block ends the stream and holds no pseudo-header.
    static let trailerRows: [Row] = [
        Row("trailer-pseudo", "trailers with :path", head("trailer-pseudo", method: "POST"),
            then: [.data(Array("hello".utf8), end: false), .trailers([F(":path", "/x")], end: true)]),
        Row("trailer-open", "trailer HEADERS without END_STREAM", head("trailer-open", method: "POST"),
            then: [.data(Array("hello".utf8), end: false), .trailers([F("x-trailer", "v")], end: false)]),
    ]

    // MARK: valid rows

    static let obsText: [UInt8] = [0x63, 0x61, 0x66, 0xe9, 0x20, 0x80, 0xff]  // "caf" é SP 0x80 0xff
    static let tchars = "x-!#$%&'*+.^_`|~09az"

    static let validRows: [H2ValidRow] = [
        // TE is hop-by-hop: checked, accepted, not forwarded to HTTP/1.1 (DESIGN.md §4).
        H2ValidRow(request: field("ok-te-trailers", "te: trailers", F("te", "trailers")), absent: ["te"]),
        H2ValidRow(request: field("ok-inner-ws", "value with inner SP and HTAB", F("x-ws", "a \t b")),
                   forwarded: [["x-ws", "a \t b"]]),
        H2ValidRow(request: field("ok-obs-text", "value with obs-text 0x80-0xff", F(bytes: Array("x-obs".utf8), obsText)),
                   forwarded: [["x-obs", String(obsText.map { Character(UnicodeScalar($0)) })]]),
        H2ValidRow(request: field("ok-tchars", "name of every tchar", F(tchars, "v")), forwarded: [[tchars, "v"]]),
        H2ValidRow(request: field("ok-empty-value", "empty value", F("x-empty", "")), forwarded: [["x-empty", ""]]),
        H2ValidRow(request: Row("ok-host", "host instead of :authority",
                                Array(pseudo("ok-host").dropLast()) + [F("x-case", "ok-host"), F("host", authority)]),
                   forwarded: [["x-forwarded-host", authority]]),
        H2ValidRow(request: post("ok-post-cl", "POST, content-length: 5, 5 bytes of DATA", [F("content-length", "5")], body: "hello"),
                   forwarded: [["content-length", "5"]], bodyLength: 5),
        H2ValidRow(request: Row("ok-trailers", "trailers after DATA, END_STREAM", head("ok-trailers", method: "POST"),
                                then: [.data(Array("hello".utf8), end: false), .trailers([F("x-trailer", "v")], end: true)]),
                   bodyLength: 5, trailers: [["x-trailer", "v"]]),
    ]

    // MARK: running a row

    /// One bed for the whole suite, handed to one row at a time (starting a proxy and its
    /// fixtures per row would cost ~0.4 s × 70 rows); each row has its own connection and ids.
    /// Underscores allowed: the tchar row's name has one. Short timeouts: a row the proxy wrongly
    /// waits on ends as an observable answer, not a hang.
    static let beds = BedPool(alive: { $0.proxy.process.isRunning }) {
        try ProxyTestBed(label: "h2-malformed") { c, up, _ in
            c.server["headers_with_underscores"] = "\"allow\""
            c.limits = ["header_timeout_ms": 2000, "body_timeout_ms": 2000]
            c.routes = [.init(upstream: up.url)]
        }
    }

    static func describe(_ f: H2RawClient.Frame?) -> String {
        guard let f else { return "the connection closed" }
        switch f.type {
        case Kind.rstStream: return "RST_STREAM \(f.errorCode ?? 0) on stream \(f.stream)"
        case Kind.goAway: return "GOAWAY \(f.errorCode ?? 0)"
        case Kind.headers: return "HEADERS :status \(H2RawClient.status(f.payload).map(String.init) ?? "?") on stream \(f.stream)"
        default: return "frame type \(f.type) on stream \(f.stream)"
        }
    }

    /// Stream 1 carries the row: its first answer must be RST_STREAM PROTOCOL_ERROR; then a
    /// valid GET on stream 3 gets 200, and the upstream saw nothing of the row.
    static func expectReset(_ row: Row) throws {
        try beds.with { bed in
            let c = try H2RawClient(port: bed.proxy.port, timeout: 5)
            try c.start()
            try c.send(row.frames(stream: 1))
            let answer = try c.firstAnswer(stream: 1)
            #expect(answer?.type == Kind.rstStream && answer?.errorCode == H2RawClient.Code.protocolError,
                    "first answer: \(describe(answer))")
            let after = "after-\(row.id)"
            try c.headers(stream: 3, pseudo(after) + [F("x-case", after)], endStream: true)
            let next = try c.firstAnswer(stream: 3)
            #expect(next?.type == Kind.headers && next.map { H2RawClient.status($0.payload) } == 200,
                    "the next stream got: \(describe(next))")
            let seen = try bed.upstream.requests().filter { $0.path == path(row.id) || $0.header("x-case") == row.id }
            #expect(seen.isEmpty, "the upstream received \(seen.map { "\($0.method) \($0.target) \($0.headers)" })")
            #expect(bed.proxy.process.isRunning, "the proxy exited")
        }
    }

    /// Stream 1 carries the row: a 200 from the upstream, which received it as sent.
    static func expectForwarded(_ row: H2ValidRow) throws {
        try beds.with { bed in
            let c = try H2RawClient(port: bed.proxy.port, timeout: 5)
            try c.start()
            try c.send(row.request.frames(stream: 1))
            let answer = try c.firstAnswer(stream: 1)
            #expect(answer?.type == Kind.headers && answer.map { H2RawClient.status($0.payload) } == 200,
                    "first answer: \(describe(answer))")
            let seen = try bed.upstream.requests().filter { $0.header("x-case") == row.request.id }
            #expect(seen.count == 1, "the upstream received \(seen.count) requests")
            guard let got = seen.first else { return }
            #expect(got.path == path(row.request.id))
            for pair in row.forwarded {
                #expect(got.headerValues(pair[0]) == [pair[1]], "\(pair[0]) forwarded as \(got.headerValues(pair[0])), headers \(got.headers)")
            }
            for name in row.absent {
                #expect(got.headerValues(name).isEmpty, "\(name) forwarded: \(got.headers)")
            }
            #expect(got.bodyLen == row.bodyLength)
            #expect(got.trailers == row.trailers, "trailers \(got.trailers ?? [])")
        }
    }

    // MARK: the tests, one per theme

    @Test(arguments: fieldNameRows) func invalidFieldName(_ row: Row) throws { try Self.expectReset(row) }
    @Test(arguments: fieldValueRows) func invalidFieldValue(_ row: Row) throws { try Self.expectReset(row) }
    @Test(arguments: pseudoHeaderRows) func invalidPseudoHeaders(_ row: Row) throws { try Self.expectReset(row) }
    @Test(arguments: connectionSpecificRows) func connectionSpecificField(_ row: Row) throws { try Self.expectReset(row) }
    @Test(arguments: contentLengthRows) func invalidContentLength(_ row: Row) throws { try Self.expectReset(row) }
    @Test(arguments: pseudoValueRows) func invalidPseudoHeaderValue(_ row: Row) throws { try Self.expectReset(row) }
    @Test(arguments: trailerRows) func invalidTrailers(_ row: Row) throws { try Self.expectReset(row) }
    @Test(arguments: validRows) func validRequestIsForwardedAsSent(_ row: H2ValidRow) throws { try Self.expectForwarded(row) }

    /// A well-formed CONNECT is refused (REFUSED_STREAM: the proxy tunnels nothing over HTTP/2),
    /// and DATA sent with it never reaches the stream's socket pair, where the inner connection
    /// (here a kept one, idle after stream 1) would read it as an HTTP/1.1 request.
    @Test func connectIsRefusedAndItsDataDropped() throws {
        try Self.beds.with { bed in
            let c = try H2RawClient(port: bed.proxy.port, timeout: 5)
            try c.start()
            try c.headers(stream: 1, Self.pseudo("before-connect") + [F("x-case", "before-connect")], endStream: true)
            #expect(try c.firstAnswer(stream: 1).map { H2RawClient.status($0.payload) } == 200)
            let smuggled = Array("GET /malformed/smuggled-in-connect HTTP/1.1\r\nhost: client.test\r\n\r\n".utf8)
            try c.send(
                H2RawClient.frame(type: Kind.headers, flags: 4, stream: 3,
                                  payload: H2RawClient.block([F(":method", "CONNECT"), F(":authority", "client.test:443")]))
                    + H2RawClient.frame(type: Kind.data, flags: 0, stream: 3, payload: smuggled))
            let answer = try c.firstAnswer(stream: 3)
            #expect(answer?.type == Kind.rstStream && answer?.errorCode == H2RawClient.Code.refusedStream,
                    "first answer: \(Self.describe(answer))")
            try c.headers(stream: 5, Self.pseudo("after-connect") + [F("x-case", "after-connect")], endStream: true)
            #expect(try c.firstAnswer(stream: 5).map { H2RawClient.status($0.payload) } == 200)
            let seen = try bed.upstream.requests().filter { $0.path.contains("smuggled") }
            #expect(seen.isEmpty, "the upstream received \(seen.map(\.target))")
        }
    }
}
