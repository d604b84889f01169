/// An HTTP/2 stream's request head as nghttp2 hands it over (`H2StreamBridge.field`): the
/// pseudo-headers and the regular fields, gathered in areas kept from stream to stream.
///
/// The stream's inner `ClientConnection` takes it as values (`layOut`: straight into its head
/// buffer, spans and parser state set, no bytes through the pair and no llhttp parse) when it is
/// a head llhttp takes as it is (`methodCode`, `givesValues`); otherwise, and for a request with
/// a body for now, the bridge writes it into the pair as the HTTP/1.1 head `writeHTTP1` makes and
/// llhttp decides. Both give the phases the same head: `layOut` lays out exactly the bytes
/// `writeHTTP1` writes (`H2RequestHeadTests`).
final class H2RequestHead {
    let method = GrowableBytes(capacity: 16)
    let path = GrowableBytes(capacity: 256)
    let authority = GrowableBytes(capacity: 64)
    /// The regular fields as HTTP/1.1 lines, `name: value\r\n` each.
    let fields = GrowableBytes(capacity: 512)
    /// Per line of `fields`, its name's and its value's lengths (two `UInt32`).
    private let lengths = GrowableBytes(capacity: 128)
    private(set) var fieldCount = 0
    /// A content-length field was sent; `contentLength` is its value when it is one plain
    /// decimal number.
    private(set) var hasContentLength = false
    private(set) var contentLength: UInt64?
    /// The head broke a rule of RFC 9113 §8.1.1, §8.2 or §8.3 (`field`, `complete`): the stream
    /// is reset with PROTOCOL_ERROR and nothing of it goes on. The server session runs with
    /// nghttp2's HTTP messaging off (`H2Session`): these checks are the only ones.
    private(set) var malformed = false
    /// Pseudo-header fields seen (`Seen`), and whether a regular field came (after which no
    /// pseudo-header may).
    private var seen: UInt8 = 0
    /// `:scheme` is http or https: `:path` must then be origin-form (or `*` for OPTIONS).
    private var httpScheme = false
    /// A `priority` field came (RFC 9218; nil `priority` when it did not parse: ignored).
    private(set) var hasPriority = false
    private(set) var priority: H2PriorityField?
    /// `content-type: application/grpc…`: the proxy's own errors become gRPC statuses.
    private(set) var isGRPC = false
    /// The client's `grpc-timeout` in ms (0: none), the exchange's response deadline.
    private(set) var deadlineMs = 0
    /// limits.max_header_bytes.
    let limit: Int

    /// Storage over this size is given back between streams.
    static let keptCapacity = 16 * 1024

    init(limit: Int) { self.limit = limit }

    /// Past `limit` fields are no longer kept: the head is then over the limit already and gets
    /// the 431 an HTTP/1.1 head that size gets (logged and counted; RESOURCE_EXHAUSTED for gRPC).
    /// What a stream holds stays within the limit plus one field (nghttp2 bounds a field).
    var overLimit: Bool { fields.count + path.count + authority.count > limit }

    private enum Seen {
        static let method: UInt8 = 1, path: UInt8 = 2, scheme: UInt8 = 4, authority: UInt8 = 8
        static let host: UInt8 = 16, regular: UInt8 = 32
    }

    /// One field of the HEADERS block, checked as nghttp2's HTTP messaging did (RFC 9113): a
    /// name that is a lowercase token, a value without NUL, CR, LF or ends of SP/HTAB; the four
    /// request pseudo-headers each at most once, not empty, before every regular field; no
    /// connection-specific field, `te` only as `trailers`, one plain decimal content-length.
    /// Anything else makes the head `malformed`.
    func field(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if malformed { return }
        guard let first = name.first else { return malformed = true }
        if first == UInt8(ascii: ":") {
            malformed = !pseudo(name, value)
            return
        }
        seen |= Seen.regular
        guard H2FieldSyntax.isName(name), H2FieldSyntax.isValue(value) else { return malformed = true }
        // By length first: most fields are none of these.
        switch name.count {
        case 4 where H2Names.equal(name, "host"):
            // A stand-in for a missing :authority (RFC 9113 §8.3.1), checked like it.
            guard take(Seen.host, value), H2FieldSyntax.isAuthority(value) else { return malformed = true }
            if authority.isEmpty { Self.set(authority, value) }
            return
        case 14 where H2Names.equal(name, "content-length"):
            // At most 2^63 - 1, as nghttp2 took it (llhttp would take more).
            guard !hasContentLength, let n = Self.decimal(value), n <= UInt64(Int64.max) else { return malformed = true }
            contentLength = n
            hasContentLength = true
        case 12 where H2Names.equal(name, "content-type"):
            if GRPCStatus.isGRPC(contentType: value) { isGRPC = true }
        case 12 where H2Names.equal(name, "grpc-timeout"):
            deadlineMs = GRPCTimeout.milliseconds(value) ?? 0
        case 2 where H2Names.equal(name, "te"):
            // §8.2.2: the only `te` HTTP/2 allows.
            guard H2Names.equal(value, "trailers") else { return malformed = true }
        case 8 where H2Names.equal(name, "priority"):
            hasPriority = true
            priority = H2PriorityField(value)
        default:
            // §8.2.2: fields of the HTTP/1.1 hop only (llhttp would give them meaning).
            if H2Names.isConnectionSpecific(name) { return malformed = true }
        }
        if overLimit { return }
        fields.appendLine(name, value)
        // The name's length in the low half, the value's in the high (read back in `layOut`).
        lengths.appendWord(UInt64(truncatingIfNeeded: name.count) | UInt64(truncatingIfNeeded: value.count) << 32)
        fieldCount += 1
    }

    /// A pseudo-header field: false when the head is malformed by it.
    private func pseudo(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        if seen & Seen.regular != 0 { return false }
        // Exact, lowercase names, compared a word at a time (little-endian loads of the names'
        // bytes; `H2RequestHeadTests` checks each name and its near misses).
        let p = name.baseAddress.unsafelyUnwrapped
        @inline(__always) func u32(_ at: Int) -> UInt32 { p.loadUnaligned(fromByteOffset: at, as: UInt32.self) }
        switch name.count {
        case 7 where u32(0) == 0x7465_6d3a && u32(3) == 0x646f_6874:  // ":method"
            guard take(Seen.method, value), H2FieldSyntax.isMethod(value) else { return false }
            Self.set(method, value)
        case 5 where u32(1) == 0x6874_6170:  // ":path"
            guard take(Seen.path, value), H2FieldSyntax.isPath(value) else { return false }
            Self.set(path, value)
        case 7 where u32(0) == 0x6863_733a && u32(3) == 0x656d_6568:  // ":scheme"
            guard take(Seen.scheme, value), H2FieldSyntax.isScheme(value) else { return false }
            httpScheme = Self.isHTTP(value)
        case 10 where p.loadUnaligned(as: UInt64.self) == 0x6972_6f68_7475_613a
            && p.loadUnaligned(fromByteOffset: 8, as: UInt16.self) == 0x7974:  // ":authority"
            guard take(Seen.authority, value), H2FieldSyntax.isAuthority(value) else { return false }
            Self.set(authority, value)
        default:
            // :status, :protocol (no SETTINGS_ENABLE_CONNECT_PROTOCOL here) or unknown.
            return false
        }
        return true
    }

    /// `http` or `https`, any case (nghttp2 compared so).
    @inline(__always)
    private static func isHTTP(_ v: UnsafeRawBufferPointer) -> Bool {
        guard v.count == 4 || v.count == 5 else { return false }
        let p = v.baseAddress.unsafelyUnwrapped
        guard p.loadUnaligned(as: UInt32.self) | 0x2020_2020 == 0x7074_7468 else { return false }  // "http"
        return v.count == 4 || p.load(fromByteOffset: 4, as: UInt8.self) | 0x20 == UInt8(ascii: "s")
    }

    /// Marks `flag` seen: false when it was already, or the value is empty (§8.3.1).
    @inline(__always)
    private func take(_ flag: UInt8, _ value: UnsafeRawBufferPointer) -> Bool {
        guard seen & flag == 0, !value.isEmpty else { return false }
        seen |= flag
        return true
    }

    /// The HEADERS block is complete: whether the head is a request RFC 9113 §8.3.1 allows
    /// (`:method`, `:scheme` and `:path` present, `:path` origin-form for http(s) or `*` for
    /// OPTIONS, an `:authority` or a `host`; CONNECT with `:authority` only), and, ending the
    /// stream (`endStream`), no content-length above 0.
    func complete(endStream: Bool) -> Bool {
        if malformed { return false }
        if seen & Seen.method != 0 && method.equals("CONNECT") {
            return seen & (Seen.scheme | Seen.path) == 0 && seen & Seen.authority != 0
        }
        let required = Seen.method | Seen.scheme | Seen.path
        guard seen & required == required, seen & (Seen.authority | Seen.host) != 0 else { return false }
        if httpScheme {
            let p = path.base.load(as: UInt8.self)
            guard p == UInt8(ascii: "/") || (path.count == 1 && p == UInt8(ascii: "*") && method.equals("OPTIONS")) else { return false }
        }
        return !(endStream && hasContentLength && contentLength != 0)
    }

    /// Replaces `a`'s bytes, keeping its storage (a reused bridge allocates nothing for them).
    @inline(__always)
    private static func set(_ a: GrowableBytes, _ value: UnsafeRawBufferPointer) {
        a.replace(with: value)
    }

    /// One plain decimal number (what llhttp takes as a Content-Length), else nil.
    static func decimal(_ v: UnsafeRawBufferPointer) -> UInt64? {
        guard !v.isEmpty else { return nil }
        var n: UInt64 = 0
        for b in v {
            guard b >= 48 && b <= 57 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(b - 48))
            if o1 || o2 { return nil }
            n = s
        }
        return n
    }

    /// The next stream's head follows; storage is kept unless a large head left it large.
    func reset() {
        method.reset(keep: Self.keptCapacity)
        path.reset(keep: Self.keptCapacity)
        authority.reset(keep: Self.keptCapacity)
        fields.reset(keep: Self.keptCapacity)
        lengths.reset(keep: Self.keptCapacity)
        fieldCount = 0
        hasContentLength = false
        contentLength = nil
        malformed = false
        seen = 0
        httpScheme = false
        hasPriority = false
        priority = nil
        isGRPC = false
        deadlineMs = 0
    }

    // MARK: as values

    /// llhttp's code for the method, when it is one the values path takes.
    var methodCode: Int? { HTTPMethod.commonCode(method.bytes) }

    /// llhttp takes this head as it is: no field it gives meaning to beyond what `layOut`
    /// records, and an origin-form target of visible ASCII but `#` (`H2RequestHeadTests` checks
    /// every such byte against llhttp). Any other head is parsed by llhttp itself.
    var givesValues: Bool {
        let n = path.count
        let p = UnsafeRawPointer(path.base)
        guard n > 0, p.load(as: UInt8.self) == UInt8(ascii: "/") else { return false }
        if n < 8 {
            // One pass without early exits: `b - 0x21` (wrapping) is at least 0x5e exactly for
            // the bytes outside 0x21...0x7e.
            var bad: UInt8 = 0
            for i in 0..<n {
                let b = p.load(fromByteOffset: i, as: UInt8.self)
                bad |= (b &- 0x21 >= 0x5e ? 1 : 0) | (b == UInt8(ascii: "#") ? 1 : 0)
            }
            return bad == 0
        }
        // Eight bytes at a time (callgrind: ~60 instructions per HTTP/2 request less than the
        // byte loop); the last word ends at the last byte, overlapping the one before.
        var i = 0
        while true {
            if Self.hasBadTargetByte(p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { return false }
            if i == n &- 8 { return true }
            i = min(i &+ 8, n &- 8)
        }
    }

    /// Whether a byte of `w` is outside 0x21...0x7e or is `#`. Each test is exact as a whole
    /// (a borrow or carry can only flag a byte next to one that is flagged rightly): below
    /// 0x21, `(w - 0x21…) & ~w`; above 0x7e, `(w + 0x01…) | w`; `#`, a zero byte of `w ^ 0x23…`.
    @inline(__always)
    static func hasBadTargetByte(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let below = (w &- ones &* 0x21) & ~w
        let above = (w &+ ones) | w
        let x = w ^ (ones &* 0x23)
        let hash = (x &- ones) & ~x
        return (below | above | hash) & high != 0
    }

    /// The length of the HTTP/1.1 head `writeHTTP1` writes (and `layOut` lays out).
    func headLength(chunked: Bool) -> Int {
        // "M P HTTP/1.1\r\n" "host: A\r\n" fields [framing line] "\r\n"
        method.count + 1 + path.count + 11 + 6 + authority.count + 2 + fields.count
            + (chunked ? Self.chunkedLine.utf8CodeUnitCount : 0) + 2
    }

    private static let chunkedLine: StaticString = "transfer-encoding: chunked\r\n"

    /// Lays the head out at `buffer` (room for `headLength(chunked:)` bytes) as exactly the bytes
    /// `writeHTTP1` writes, fills the parser's lent header table (room for `fieldCount + 2`) with
    /// their spans and records the rest in the parser: what parsing those bytes gives. Without a
    /// body that is `HTTPParser.setRequestHead`; with one (`bodyFollows`: content-length, or
    /// `chunked`) llhttp is primed for it (`HTTPParser.primeBody`) and takes the body's bytes
    /// next. Returns the head's length, nil when llhttp refused the priming (a bug).
    func layOut(at buffer: UnsafeMutableRawPointer, methodCode: Int, bodyFollows: Bool, parser: HTTPParser) -> Int? {
        let chunked = bodyFollows && !hasContentLength
        if bodyFollows && !parser.primeBody(contentLength: chunked ? nil : contentLength) { return nil }
        var at = 0
        func put(_ p: UnsafeRawPointer, _ n: Int) {
            (buffer + at).copyMemory(from: p, byteCount: n)
            at += n
        }
        func put(_ s: StaticString) { put(s.utf8Start, s.utf8CodeUnitCount) }
        func span(_ from: Int, _ n: Int) -> ByteSpan { ByteSpan(base: UnsafeRawPointer(buffer + from), count: n) }

        put(method.base, method.count)
        let methodSpan = span(0, method.count)
        put(" ")
        let url = span(at, path.count)
        put(path.base, path.count)
        put(" HTTP/1.1\r\nhost: ")
        let headers = parser.headers
        headers[0] = HeaderSpan(name: span(at - 6, 4), value: span(at, authority.count))
        put(authority.base, authority.count)
        put("\r\n")
        let first = at
        put(fields.base, fields.count)
        var line = first
        for i in 0..<fieldCount {
            let both = lengths.base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
            let nameCount = Int(truncatingIfNeeded: both & 0xffff_ffff)
            let valueCount = Int(truncatingIfNeeded: both >> 32)
            headers[1 + i] = HeaderSpan(name: span(line, nameCount), value: span(line + nameCount + 2, valueCount))
            line += nameCount + 2 + valueCount + 2
        }
        var count = 1 + fieldCount
        if chunked {
            headers[count] = HeaderSpan(name: span(at, 17), value: span(at + 19, 7))
            count += 1
            put(Self.chunkedLine)
        }
        put("\r\n")
        if bodyFollows {
            parser.setHeadSpans(method: methodSpan, methodCode: methodCode, url: url, headerCount: count)
        } else {
            parser.setRequestHead(method: methodSpan, methodCode: methodCode, url: url, headerCount: count, contentLength: contentLength)
        }
        return at
    }

    // MARK: as bytes

    /// Appends the HTTP/1.1 head to `out`: request line, Host (the authority), the fields, and
    /// `transfer-encoding: chunked` when `chunked` (a body without content-length).
    func writeHTTP1(into out: GrowableBytes, chunked: Bool) {
        out.append(method)
        out.append(" ")
        out.append(path)
        out.append(" HTTP/1.1\r\nhost: ")
        out.append(authority)
        out.append("\r\n")
        out.append(fields)
        if chunked { out.append(Self.chunkedLine) }
        out.append("\r\n")
    }
}
