/// The two base64 flavours the token code needs: standard encoding with padding (RFC 4648 §4,
/// for `Authorization: Basic`) and base64url decoding (§5, for JWT segments, which carry no
/// padding).
enum Base64 {
    private static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            out.append(standardAlphabet[Int(chunk >> 18 & 0x3F)])
            out.append(standardAlphabet[Int(chunk >> 12 & 0x3F)])
            out.append(standardAlphabet[Int(chunk >> 6 & 0x3F)])
            out.append(standardAlphabet[Int(chunk & 0x3F)])
            index += 3
        }
        switch input.count - index {
        case 1:
            let chunk = UInt32(input[index]) << 16
            out.append(standardAlphabet[Int(chunk >> 18 & 0x3F)])
            out.append(standardAlphabet[Int(chunk >> 12 & 0x3F)])
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        case 2:
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            out.append(standardAlphabet[Int(chunk >> 18 & 0x3F)])
            out.append(standardAlphabet[Int(chunk >> 12 & 0x3F)])
            out.append(standardAlphabet[Int(chunk >> 6 & 0x3F)])
            out.append(UInt8(ascii: "="))
        default:
            break
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64url (`-` and `_` instead of `+` and `/`). Padding is optional but, when
    /// present, must complete the last quantum. Any other character, or a length that cannot
    /// come from encoding (4n+1), gives nil. Unused low bits of the last character are ignored.
    static func decodeURL(_ text: some StringProtocol) -> [UInt8]? {
        var symbols = Array(text.utf8)
        var padding = 0
        while symbols.last == UInt8(ascii: "=") {
            symbols.removeLast()
            padding += 1
        }
        if padding > 0, padding > 2 || (symbols.count + padding) % 4 != 0 { return nil }
        if symbols.count % 4 == 1 { return nil }

        var out: [UInt8] = []
        out.reserveCapacity(symbols.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for symbol in symbols {
            guard let value = urlValue(symbol) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }

    private static func urlValue(_ symbol: UInt8) -> UInt8? {
        switch symbol {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): symbol - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): symbol - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): symbol - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }
}
