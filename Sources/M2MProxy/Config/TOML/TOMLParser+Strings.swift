/// The four kinds of TOML string. Each is built from whole runs of plain bytes (one append per
/// run, not per byte); the input is valid UTF-8, so any run between ASCII delimiters is too.
extension TOMLParser {
    /// `"…"` with escapes, on one line; `pos` is on the opening quote.
    mutating func parseBasicString() throws(TOMLParseError) -> String {
        let open = pos
        pos += 1
        var output: [UInt8] = []
        var runStart = pos
        while true {
            guard let byte = peek() else { throw error("unterminated string", at: open) }
            switch byte {
            case UInt8(ascii: "\""):
                output.append(contentsOf: bytes[runStart..<pos])
                pos += 1
                return String(decoding: output, as: UTF8.self)
            case UInt8(ascii: "\\"):
                output.append(contentsOf: bytes[runStart..<pos])
                try parseEscape(into: &output)
                runStart = pos
            case UInt8(ascii: "\n"):
                throw error("unterminated string (a \"…\" string ends on its line; use \"\"\"…\"\"\" for several lines)", at: open)
            case _ where Self.isControl(byte) && byte != UInt8(ascii: "\t"):
                throw error("\(Self.describe(byte, in: bytes, at: pos)) is not allowed in a string; write it as an escape")
            default:
                pos += 1
            }
        }
    }

    /// `"""…"""`: a newline right after the opening quotes is dropped, and a backslash at the
    /// end of a line removes it and the whitespace and newlines that follow.
    mutating func parseMultiLineBasicString() throws(TOMLParseError) -> String {
        let open = pos
        pos += 3
        if peek() == UInt8(ascii: "\n") { pos += 1 }
        var output: [UInt8] = []
        var runStart = pos
        while true {
            guard let byte = peek() else { throw error("unterminated multi-line string: expected '\"\"\"'", at: open) }
            switch byte {
            case UInt8(ascii: "\""):
                if let end = closingQuotes(byte) {
                    output.append(contentsOf: bytes[runStart..<end])
                    return String(decoding: output, as: UTF8.self)
                }
                pos += 1
            case UInt8(ascii: "\\"):
                output.append(contentsOf: bytes[runStart..<pos])
                if let next = self.byte(at: pos + 1), next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") || next == UInt8(ascii: "\n") {
                    try skipLineEndingBackslash()
                } else {
                    try parseEscape(into: &output)
                }
                runStart = pos
            case UInt8(ascii: "\n"), UInt8(ascii: "\t"):
                pos += 1
            case _ where Self.isControl(byte):
                throw error("\(Self.describe(byte, in: bytes, at: pos)) is not allowed in a string; write it as an escape")
            default:
                pos += 1
            }
        }
    }

    /// `'…'`: no escapes, one line.
    mutating func parseLiteralString() throws(TOMLParseError) -> String {
        let open = pos
        pos += 1
        let start = pos
        while true {
            guard let byte = peek() else { throw error("unterminated string", at: open) }
            switch byte {
            case UInt8(ascii: "'"):
                pos += 1
                return String(decoding: bytes[start..<(pos - 1)], as: UTF8.self)
            case UInt8(ascii: "\n"):
                throw error("unterminated string (a '…' string ends on its line; use '''…''' for several lines)", at: open)
            case _ where Self.isControl(byte) && byte != UInt8(ascii: "\t"):
                throw error("\(Self.describe(byte, in: bytes, at: pos)) is not allowed in a literal string")
            default:
                pos += 1
            }
        }
    }

    /// `'''…'''`: no escapes; a newline right after the opening quotes is dropped.
    mutating func parseMultiLineLiteralString() throws(TOMLParseError) -> String {
        let open = pos
        pos += 3
        if peek() == UInt8(ascii: "\n") { pos += 1 }
        let start = pos
        while true {
            guard let byte = peek() else { throw error("unterminated multi-line string: expected \"'''\"", at: open) }
            switch byte {
            case UInt8(ascii: "'"):
                if let end = closingQuotes(byte) {
                    return String(decoding: bytes[start..<end], as: UTF8.self)
                }
                pos += 1
            case UInt8(ascii: "\n"), UInt8(ascii: "\t"):
                pos += 1
            case _ where Self.isControl(byte):
                throw error("\(Self.describe(byte, in: bytes, at: pos)) is not allowed in a literal string")
            default:
                pos += 1
            }
        }
    }

    /// On a quote inside a multi-line string: if three or more quotes start here, the string
    /// ends; up to two quotes before the last three belong to the content (`"""a""""` is `a"`).
    /// Returns where the content ends and moves past the closing quotes; nil if fewer than three.
    private mutating func closingQuotes(_ quote: UInt8) -> Int? {
        var count = 0
        while byte(at: pos + count) == quote { count += 1 }
        guard count >= 3 else { return nil }
        // More than five: the string ends after five, and the rest is an error for the caller.
        let extra = min(count - 3, 2)
        let end = pos + extra
        pos += 3 + extra
        return end
    }

    /// A backslash, optional spaces, a newline: skip all whitespace and newlines that follow.
    private mutating func skipLineEndingBackslash() throws(TOMLParseError) {
        let backslash = pos
        pos += 1
        skipWhitespace()
        guard peek() == UInt8(ascii: "\n") else {
            throw error("a backslash followed by spaces must end the line (or write '\\\\' for a backslash)", at: backslash)
        }
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") { pos += 1 }
    }

    /// `pos` is on a backslash: appends the escaped character's UTF-8 and moves past it.
    private mutating func parseEscape(into output: inout [UInt8]) throws(TOMLParseError) {
        let backslash = pos
        pos += 1
        guard let letter = peek() else { throw error("unterminated string") }
        pos += 1
        switch letter {
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let digits = letter == UInt8(ascii: "u") ? 4 : 8
            var value: UInt32 = 0
            for _ in 0..<digits {
                guard let byte = peek(), let digit = Self.hexDigit(byte) else {
                    throw error("invalid escape: '\\\(Character(Unicode.Scalar(letter)))' needs \(digits) hexadecimal digits", at: backslash)
                }
                value = value << 4 | UInt32(digit)
                pos += 1
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw error("invalid escape: U+\(Self.hex(value, digits: 4)) is not a Unicode scalar value (a surrogate or beyond U+10FFFF)", at: backslash)
            }
            output.append(contentsOf: String(scalar).utf8)
        case 0x21..<0x7F:
            throw error("invalid escape '\\\(Character(Unicode.Scalar(letter)))'", at: backslash)
        default:
            throw error("invalid escape: '\\' followed by \(Self.describe(letter, in: bytes, at: pos - 1))", at: backslash)
        }
    }

    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
