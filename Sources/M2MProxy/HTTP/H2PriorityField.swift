/// RFC 9218's `priority` request field (`u=N`, urgency 0…7; `i`, incremental), which the
/// server session applies to the stream once its head is complete (`H2Connection`): with
/// HTTP messaging off nghttp2 no longer reads it.
///
/// The value is a structured-field dictionary (RFC 8941). Only `u` and `i` mean anything here;
/// other members are skipped up to the next comma (a comma inside a quoted string of an
/// unknown member would cut it short: such a field then reads as invalid). As nghttp2 does, a
/// field that does not parse, or whose `u` is not an integer in 0…7 or whose `i` is not a
/// boolean, is ignored as a whole: the stream keeps the default priority.
struct H2PriorityField: Equatable {
    var urgency: UInt32 = 3
    var incremental = false

    init(urgency: UInt32 = 3, incremental: Bool = false) {
        self.urgency = urgency
        self.incremental = incremental
    }

    /// Parses `value` over the defaults; nil when it is not a valid priority field.
    init?(_ value: UnsafeRawBufferPointer) {
        var p = 0
        let n = value.count
        func skipSpaces() { while p < n && (value[p] == 0x20 || value[p] == 0x09) { p += 1 } }
        skipSpaces()
        while p < n {
            // key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
            let keyStart = p
            guard Self.isKeyStart(value[p]) else { return nil }
            p += 1
            while p < n && Self.isKeyByte(value[p]) { p += 1 }
            let key = p - keyStart == 1 ? value[keyStart] : 0
            if p < n && value[p] == UInt8(ascii: "=") {
                p += 1
                let start = p
                while p < n && value[p] != UInt8(ascii: ",") && value[p] != UInt8(ascii: ";") { p += 1 }
                var end = p
                while end > start && (value[end - 1] == 0x20 || value[end - 1] == 0x09) { end -= 1 }
                let item = UnsafeRawBufferPointer(rebasing: value[start..<end])
                switch key {
                case UInt8(ascii: "u"):
                    guard let u = Self.urgency(item) else { return nil }
                    urgency = u
                case UInt8(ascii: "i"):
                    guard item.count == 2, item[0] == UInt8(ascii: "?"), item[1] == 0x30 || item[1] == 0x31 else { return nil }
                    incremental = item[1] == 0x31
                default:
                    guard !item.isEmpty else { return nil }
                }
            } else if key == UInt8(ascii: "i") {
                // A bare key is boolean true.
                incremental = true
            } else if key == UInt8(ascii: "u") {
                return nil
            }
            // Parameters (";…") mean nothing here.
            while p < n && value[p] != UInt8(ascii: ",") { p += 1 }
            guard p < n else { break }
            p += 1
            skipSpaces()
            // A trailing comma is not a dictionary.
            guard p < n else { return nil }
        }
    }

    /// An sf-integer (`["-"] 1*15DIGIT`) in 0…7.
    private static func urgency(_ s: UnsafeRawBufferPointer) -> UInt32? {
        var digits = s[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 15 else { return nil }
        var v: UInt64 = 0
        for b in digits {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            v = v * 10 + UInt64(b - 0x30)
        }
        guard !negative || v == 0, v <= 7 else { return nil }
        return UInt32(v)
    }

    private static func isKeyStart(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || b == UInt8(ascii: "*")
    }

    private static func isKeyByte(_ b: UInt8) -> Bool {
        isKeyStart(b) || (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
            || b == UInt8(ascii: ".")
    }
}
