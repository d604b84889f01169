import Foundation

/// A raw HTTP/2 client (RFC 9113) over a plain TCP connection, for protocol cases no
/// well-behaved client library would send: frames are built byte by byte and read back
/// undecoded. HPACK is only encoded, with static-table indexes and literals never indexed
/// (RFC 7541 §6.2.3), so no dynamic table state is needed on either side.
final class H2RawClient {
    struct Frame {
        let type: UInt8
        let flags: UInt8
        let stream: UInt32
        let payload: [UInt8]

        var endStream: Bool { flags & 1 != 0 && (type == Kind.data || type == Kind.headers) }
        /// The error code of a RST_STREAM or GOAWAY frame.
        var errorCode: UInt32? {
            switch type {
            case Kind.rstStream where payload.count >= 4: Self.u32(payload, 0)
            case Kind.goAway where payload.count >= 8: Self.u32(payload, 4)
            default: nil
            }
        }

        static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
            b[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) }
        }
    }

    /// Frame types (RFC 9113 §6).
    enum Kind {
        static let data: UInt8 = 0, headers: UInt8 = 1, rstStream: UInt8 = 3, settings: UInt8 = 4
        static let ping: UInt8 = 6, goAway: UInt8 = 7, windowUpdate: UInt8 = 8, continuation: UInt8 = 9
    }

    /// Error codes (RFC 9113 §7).
    enum Code {
        static let protocolError: UInt32 = 1, internalError: UInt32 = 2, flowControl: UInt32 = 3, frameSize: UInt32 = 6
        static let refusedStream: UInt32 = 7, cancel: UInt32 = 8, compression: UInt32 = 9
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    let conn: RawHTTPConnection
    let authority: String

    init(port: UInt16, timeout: Double = 10) throws {
        conn = try RawHTTPConnection(port: port, timeout: timeout)
        authority = "127.0.0.1:\(port)"
    }

    /// The preface and a SETTINGS frame (`settings`: identifier/value pairs).
    func start(settings: [(UInt16, UInt32)] = []) throws {
        var payload: [UInt8] = []
        for (id, value) in settings { payload += Self.be(UInt32(id), 2) + Self.be(value, 4) }
        try conn.send(Self.preface + Self.frame(type: Kind.settings, payload: payload))
    }

    /// Acknowledges the proxy's SETTINGS (from then on nghttp2 applies them as agreed).
    func ackSettings() throws { try send(type: Kind.settings, flags: 1, payload: []) }

    /// WINDOW_UPDATE for `stream` (0: the connection).
    func windowUpdate(stream: UInt32, _ increment: UInt32) throws {
        try send(type: Kind.windowUpdate, stream: stream, payload: Self.be(increment, 4))
    }

    func send(_ bytes: [UInt8]) throws { try conn.send(bytes) }

    func send(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8]) throws {
        try conn.send(Self.frame(type: type, flags: flags, stream: stream, payload: payload))
    }

    /// A request HEADERS frame (END_HEADERS; END_STREAM when `endStream`).
    func request(
        stream: UInt32, method: String = "GET", path: String, fields: [(String, String)] = [], endStream: Bool = true
    ) throws {
        let block = requestBlock(method: method, path: path, fields: fields)
        try send(type: Kind.headers, flags: endStream ? 5 : 4, stream: stream, payload: block)
    }

    func requestBlock(method: String = "GET", path: String, fields: [(String, String)] = []) -> [UInt8] {
        var block: [UInt8] = []
        switch method {
        case "GET": block.append(0x82)
        case "POST": block.append(0x83)
        default: block += Self.literal(name: ":method", value: method)
        }
        block += Self.literal(nameIndex: 4, value: path)       // :path
        block.append(0x86)                                      // :scheme http
        block += Self.literal(nameIndex: 1, value: authority)  // :authority
        for (n, v) in fields { block += Self.literal(name: n, value: v) }
        return block
    }

    /// The next frame, or nil once the proxy closed the connection.
    func next(timeout: Double? = nil) throws -> Frame? {
        guard let head = try read(9, timeout: timeout) else { return nil }
        let len = Int(head[0]) << 16 | Int(head[1]) << 8 | Int(head[2])
        guard let payload = try read(len, timeout: timeout) else { return nil }
        return Frame(type: head[3], flags: head[4], stream: Frame.u32(head, 5) & 0x7fff_ffff, payload: payload)
    }

    /// Reads frames until `until` holds for one (returned) or the connection closes (nil).
    /// Frames read on the way are passed to `seen`.
    func read(until: (Frame) -> Bool, timeout: Double? = nil, seen: (Frame) -> Void = { _ in }) throws -> Frame? {
        while let f = try next(timeout: timeout) {
            seen(f)
            if until(f) { return f }
        }
        return nil
    }

    /// `:status` of a response HEADERS block when nghttp2 sent it from the static table or as a
    /// plain literal (what it does for 3-digit codes unless Huffman is shorter); nil otherwise.
    static func status(_ block: [UInt8]) -> Int? {
        guard let first = block.first else { return nil }
        let statics: [UInt8: Int] = [0x88: 200, 0x89: 204, 0x8a: 206, 0x8b: 304, 0x8c: 400, 0x8d: 404, 0x8e: 500]
        if let s = statics[first] { return s }
        // Literal (with, without or never indexing) whose name is static index 8 (:status).
        guard [0x48, 0x08, 0x18].contains(first), block.count >= 5, block[1] == 3 else { return nil }
        return Int(String(decoding: block[2..<5], as: UTF8.self))
    }

    /// The code of the GOAWAY the proxy sends before closing (nil: closed without one).
    func goAwayCode(timeout: Double? = nil) throws -> UInt32? {
        try read(until: { $0.type == Kind.goAway }, timeout: timeout)?.errorCode
    }

    private func read(_ n: Int, timeout: Double?) throws -> [UInt8]? {
        if n == 0 { return [] }
        do {
            return try conn.readBytes(n, timeout: timeout)
        } catch let e as HarnessError where e.description.hasPrefix("connection closed") {
            return nil
        }
    }

    // MARK: encoding

    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        be(UInt32(payload.count), 3) + [type, flags] + be(stream & 0x7fff_ffff, 4) + payload
    }

    static func be(_ v: UInt32, _ bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8(v >> (8 * UInt32($0)) & 0xff) }
    }

    /// HPACK integer with an `n`-bit prefix (RFC 7541 §5.1).
    static func integer(_ value: Int, prefixBits n: Int, flags: UInt8) -> [UInt8] {
        let max = (1 << n) - 1
        if value < max { return [flags | UInt8(value)] }
        var out: [UInt8] = [flags | UInt8(max)]
        var v = value - max
        while v >= 128 {
            out.append(UInt8(v & 0x7f | 0x80))
            v >>= 7
        }
        out.append(UInt8(v))
        return out
    }

    static func string(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        return integer(b.count, prefixBits: 7, flags: 0) + b
    }

    /// Literal never indexed, name from the static table.
    static func literal(nameIndex: Int, value: String) -> [UInt8] {
        integer(nameIndex, prefixBits: 4, flags: 0x10) + string(value)
    }

    /// Literal never indexed, literal name.
    static func literal(name: String, value: String) -> [UInt8] {
        [0x10] + string(name) + string(value)
    }
}
