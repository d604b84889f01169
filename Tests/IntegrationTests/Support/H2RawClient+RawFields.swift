/// Header blocks of arbitrary fields, for requests a well-behaved client cannot send: any order,
/// pseudo-headers missing, repeated or after regular fields, names not lowercased, and any
/// byte (CR, LF, NUL, 0x80-0xff) in names and values. Every field is a literal never indexed
/// with a literal name (RFC 7541 §6.2.3) and no Huffman coding, so the bytes on the wire are the
/// bytes given and the proxy's decoder keeps no dynamic-table state.
extension H2RawClient {
    /// One field as raw bytes (`name` may start with `:`).
    struct Field: Sendable {
        let name: [UInt8]
        let value: [UInt8]

        init(_ name: String, _ value: String) {
            self.init(bytes: Array(name.utf8), Array(value.utf8))
        }

        init(bytes name: [UInt8], _ value: [UInt8]) {
            self.name = name
            self.value = value
        }
    }

    /// The header block of `fields`, in the order given.
    static func block(_ fields: [Field]) -> [UInt8] {
        var out: [UInt8] = []
        for f in fields {
            out.append(0x10)  // literal never indexed, literal name
            out += integer(f.name.count, prefixBits: 7, flags: 0) + f.name
            out += integer(f.value.count, prefixBits: 7, flags: 0) + f.value
        }
        return out
    }

    /// One HEADERS frame (END_HEADERS; END_STREAM when `endStream`) carrying exactly `fields`:
    /// a request head or, after DATA, a trailer block.
    func headers(stream: UInt32, _ fields: [Field], endStream: Bool) throws {
        try send(type: Kind.headers, flags: endStream ? 5 : 4, stream: stream, payload: Self.block(fields))
    }

    /// One DATA frame (END_STREAM when `endStream`).
    func data(stream: UInt32, _ payload: [UInt8], endStream: Bool) throws {
        try send(type: Kind.data, flags: endStream ? 1 : 0, stream: stream, payload: payload)
    }

    /// The proxy's first answer on `stream`: its response HEADERS or a RST_STREAM, whichever
    /// comes first (a later second RST_STREAM nghttp2 may add is left unread); a GOAWAY (a
    /// connection error) is returned too. nil: the connection closed first.
    func firstAnswer(stream: UInt32, timeout: Double? = nil) throws -> Frame? {
        try read(until: { f in
            f.type == Kind.goAway || (f.stream == stream && (f.type == Kind.headers || f.type == Kind.rstStream))
        }, timeout: timeout)
    }
}
