private import CHiredis
private import Glibc

/// One RESP2 reply, copied out of hiredis's reply tree (replies are small: a token, OK, a
/// pub/sub message), so nothing above CBridge sees a C pointer.
enum RESPValue: Equatable {
    /// `+OK`
    case status(String)
    /// `-ERR …`
    case error(String)
    case integer(Int)
    /// A bulk string; nil for `$-1`.
    case bulk([UInt8]?)
    /// nil for `*-1`.
    case array([RESPValue]?)

    /// The bytes of a bulk or status reply.
    var bytes: [UInt8]? {
        switch self {
        case .bulk(let b): b
        case .status(let s): Array(s.utf8)
        default: nil
        }
    }

    var text: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
}

/// RESP framing by hiredis 0.14 on buffers (STYLE.md §3: the C stays behind this adapter): a
/// `redisReader` fed with whatever the socket delivered, replies taken out one at a time, and
/// commands formatted by `redisFormatCommandArgv` (binary-safe arguments).
final class RESPDecoder {
    private let reader: UnsafeMutablePointer<redisReader>

    /// Protocol error (hiredis's message); the connection must be dropped.
    struct ProtocolError: Error {
        let message: String
    }

    init() {
        // redisReaderCreate fails only when malloc does.
        reader = redisReaderCreate()!
    }

    deinit { redisReaderFree(reader) }

    func feed(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) {
        guard bytes.count > 0 else { return }
        let rc = redisReaderFeed(reader, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count)
        if rc != REDIS_OK { throw ProtocolError(message: errorText()) }
    }

    func feed(_ bytes: [UInt8]) throws(ProtocolError) {
        let result: Result<Void, ProtocolError> = bytes.withUnsafeBytes { raw in
            do throws(ProtocolError) {
                try feed(raw)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// The next complete reply, or nil when more bytes are needed.
    func next() throws(ProtocolError) -> RESPValue? {
        var raw: UnsafeMutableRawPointer? = nil
        if redisReaderGetReply(reader, &raw) != REDIS_OK { throw ProtocolError(message: errorText()) }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    private func errorText() -> String {
        withUnsafeBytes(of: reader.pointee.errstr) { b in
            String(decoding: b.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    private static func convert(_ r: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let reply = r.pointee
        func bytes() -> [UInt8] {
            guard reply.len > 0, let s = reply.str else { return [] }
            return Array(UnsafeRawBufferPointer(start: s, count: reply.len))
        }
        switch reply.type {
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(Int(reply.integer))
        case REDIS_REPLY_STRING: return .bulk(bytes())
        case REDIS_REPLY_NIL: return .bulk(nil)
        case REDIS_REPLY_ARRAY:
            var items: [RESPValue] = []
            items.reserveCapacity(reply.elements)
            for i in 0..<reply.elements {
                items.append(convert(reply.element[i]!))
            }
            return .array(items)
        default: return .error("unknown reply type \(reply.type)")
        }
    }

    /// One command in RESP (`*N\r\n$len\r\narg\r\n…`), arguments binary-safe.
    static func format(_ args: [[UInt8]]) -> [UInt8] {
        var lengths = args.map(\.count)
        // Each argument is NUL-padded so that empty ones still have a valid address.
        let copies = args.map { a -> UnsafeMutablePointer<CChar> in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: a.count + 1)
            a.withUnsafeBytes { if $0.count > 0 { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            p[a.count] = 0
            return p
        }
        defer { copies.forEach { $0.deallocate() } }
        var argv: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
        var out: UnsafeMutablePointer<CChar>? = nil
        let n = redisFormatCommandArgv(&out, Int32(args.count), &argv, &lengths)
        guard n > 0, let out else { return [] }
        defer { redisFreeCommand(out) }
        return Array(UnsafeRawBufferPointer(start: out, count: Int(n)))
    }

    static func format(_ args: String...) -> [UInt8] { format(args.map { Array($0.utf8) }) }
}

@available(*, unavailable)
extension RESPDecoder: Sendable {}
