/// The byte rules of RFC 9113 §8.2.1 and §8.3.1 for an HTTP/2 request's fields, exactly as
/// nghttp2 1.52 applies them with HTTP messaging on (`nghttp2_check_header_name`,
/// `nghttp2_check_header_value_rfc9113`, `nghttp2_check_method`, `nghttp2_check_path`,
/// `nghttp2_check_authority`; `H2FieldSyntaxTests` compares every byte with them). The server
/// session runs with HTTP messaging off (`H2Session`) and `H2RequestHead` applies these itself:
/// they are what keeps a CR, LF or NUL, or a name that is not a token, from reaching the HTTP/1.1
/// head written for the upstream.
///
/// Names, methods, authorities and schemes are checked against one byte table (`table`); field
/// values and paths, the longest parts, eight bytes at a time.
enum H2FieldSyntax {
    /// A regular field name: a lowercase token (RFC 9110 §5.6.2 `tchar`, no 'A'…'Z').
    static func isName(_ s: UnsafeRawBufferPointer) -> Bool {
        s.count > 0 && all(s, Class.name)
    }

    /// A `:method` value: a token (case as sent).
    static func isMethod(_ s: UnsafeRawBufferPointer) -> Bool {
        s.count > 0 && all(s, Class.method)
    }

    /// `:authority` or `host`: the characters of RFC 3986's authority.
    static func isAuthority(_ s: UnsafeRawBufferPointer) -> Bool {
        all(s, Class.authority)
    }

    /// `:scheme`: RFC 3986 §3.1, `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
    static func isScheme(_ s: UnsafeRawBufferPointer) -> Bool {
        guard let p = s.baseAddress, s.count > 0 else { return false }
        let first = p.load(as: UInt8.self) | 0x20
        guard first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z") else { return false }
        return all(s, Class.scheme)
    }

    /// A `:path` value: visible ASCII or bytes over 0x7f (no SP, HTAB, control or DEL).
    static func isPath(_ s: UnsafeRawBufferPointer) -> Bool {
        guard let p = s.baseAddress else { return true }
        return words(p, s.count, lowest: 0x21)
    }

    /// A field value (RFC 9113 §8.2.1): no NUL, CR, LF, no other control but HTAB, no DEL, and
    /// neither starting nor ending with SP or HTAB.
    static func isValue(_ s: UnsafeRawBufferPointer) -> Bool {
        guard let p = s.baseAddress, s.count > 0 else { return true }
        let first = p.load(as: UInt8.self), last = p.load(fromByteOffset: s.count &- 1, as: UInt8.self)
        if first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09 { return false }
        return words(p, s.count, lowest: 0x20)
    }

    // MARK: classes

    /// The classes a byte is in (`table`'s bits).
    enum Class {
        static let name: UInt8 = 1, method: UInt8 = 2, authority: UInt8 = 4, scheme: UInt8 = 8
    }

    /// Per byte value, `0x40 | classes`: names ("!#$%&'*+-.^_`|~", digits, 'a'…'z'), methods
    /// (the same and 'A'…'Z'), authority ("!$%&'()*+,-.:;=@[]_~", digits, letters), scheme
    /// ("+-.", digits, letters); no byte over 0x7f is in any. A literal (printable, so that it
    /// is one): a load per byte, no lazily initialised global. `H2FieldSyntaxTests` compares it
    /// with nghttp2's tables.
    static let table: StaticString = """
        @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@G@CGGGGDDGODOO@OOOOOOOOOODD@D@@\
        DNNNNNNNNNNNNNNNNNNNNNNNNNND@DCGCOOOOOOOOOOOOOOOOOOOOOOOOOO@C@G@\
        @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\
        @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
        """

    /// Every byte of `s` is in class `c`. Two bytes per turn, stopping at the first pair that
    /// is not (the optimizer vectorises a loop without an exit into more instructions than
    /// bytes; two per turn halve the loop's own).
    @inline(__always)
    private static func all(_ s: UnsafeRawBufferPointer, _ c: UInt8) -> Bool {
        guard let p = s.baseAddress else { return true }
        let t = table.utf8Start
        @inline(__always) func at(_ i: Int) -> UInt8 { t[Int(p.load(fromByteOffset: i, as: UInt8.self))] }
        let n = s.count
        var i = 0
        while i &+ 1 < n {
            if at(i) & at(i &+ 1) & c == 0 { return false }
            i &+= 2
        }
        return i == n || at(i) & c != 0
    }

    // MARK: eight bytes at a time

    /// Every byte is at least `lowest` (0x20 or 0x21; with 0x20 an HTAB is allowed too) and
    /// none is DEL; bytes over 0x7f pass. Words of eight bytes, the last one ending at the last
    /// byte (overlapping the one before); a word the test flags is looked at byte by byte (an
    /// HTAB in a value flags its word).
    @inline(__always)
    private static func words(_ p: UnsafeRawPointer, _ n: Int, lowest: UInt8) -> Bool {
        if n < 8 {
            for i in 0..<n where !byteOK(p.load(fromByteOffset: i, as: UInt8.self), lowest: lowest) { return false }
            return true
        }
        var i = 0
        while true {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if flags(w, lowest: lowest) {
                for j in i..<(i + 8) where !byteOK(p.load(fromByteOffset: j, as: UInt8.self), lowest: lowest) { return false }
            }
            if i == n &- 8 { return true }
            i = min(i &+ 8, n &- 8)
        }
    }

    @inline(__always)
    private static func byteOK(_ b: UInt8, lowest: UInt8) -> Bool {
        b >= lowest ? b != 0x7f : (lowest == 0x20 && b == 0x09)
    }

    /// Whether a byte of `w` is below `lowest` or is DEL. Both tests are exact as a whole
    /// (Hacker's Delight's `hasless` and `haszero`): a borrow can only flag a byte next to one
    /// that is flagged rightly.
    @inline(__always)
    static func flags(_ w: UInt64, lowest: UInt8) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let below = (w &- ones &* UInt64(lowest)) & ~w
        let x = w ^ (ones &* 0x7f)
        let del = (x &- ones) & ~x
        return (below | del) & high != 0
    }
}
