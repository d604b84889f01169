/// Rejects table headers (and one other construct) that would crash the TOML parser, before
/// TOMLKit sees the text.
///
/// The toml++ bundled with TOMLKit 0.6.0 calls its key parser on whatever follows `[` or `[[` in a
/// table header; a character that cannot start a key (`[#x]`, `[[[a]]]`, `[=`) violates an
/// assertion, which aborts the process in debug builds and is undefined behaviour in release ones
/// (fixed upstream in marzer/tomlplusplus#301). Likewise a `}` where an array expects a value
/// (`a = [}`) trips `parse_value`'s assertion. `ConfigLoader` must never crash on bad input, so
/// this finds such headers first and reports them as a syntax error.
///
/// It follows just enough TOML to know where a header can start: at the beginning of a line,
/// outside strings (all four kinds), comments, arrays and inline tables. Everything else is left to
/// toml++; on text toml++ rejects earlier anyway, a different first error is harmless.
/// toml++ skips a UTF-8 byte-order mark at the start, so the scan does too: a header on the first
/// line after a BOM is still at the start of its line (the config fuzzer found `BOM[\u{17}`).
enum TOMLHeaderGuard {
    /// `(line, column, message)` of the first unsafe header (1-based, columns in bytes), or nil.
    static func firstUnsafeHeader(in text: String) -> (line: Int, column: Int, message: String)? {
        var scanner = Scanner(bytes: Array(text.utf8))
        return scanner.run()
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var lineStart = 0
        /// Open `[` / `{` of the current value, innermost last.
        var open: [UInt8] = []
        var atLineStart = true

        init(bytes: [UInt8]) {
            self.bytes = bytes
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
                index = 3
                lineStart = 3
            }
        }

        func peek() -> UInt8? {
            index < bytes.count ? bytes[index] : nil
        }

        /// Call with `index` on a "\n".
        mutating func passNewline() {
            line += 1
            index += 1
            lineStart = index
        }

        mutating func run() -> (line: Int, column: Int, message: String)? {
            while let byte = peek() {
                switch byte {
                case UInt8(ascii: "\n"):
                    passNewline()
                    if open.isEmpty { atLineStart = true }
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                    index += 1
                case UInt8(ascii: "#"):
                    skipComment()
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    atLineStart = false
                    skipString()
                case UInt8(ascii: "[") where atLineStart && open.isEmpty:
                    let column = index - lineStart + 1
                    index += 1
                    if peek() == UInt8(ascii: "[") { index += 1 }
                    while let next = peek(), next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") { index += 1 }
                    if let next = peek(), !TOMLHeaderGuard.canFollowHeaderBracket(next) {
                        return (line, column, "invalid table header: a key must follow '['")
                    }
                    // The rest of the header line is a key, which toml++ checks safely.
                    atLineStart = false
                    while let next = peek(), next != UInt8(ascii: "\n") {
                        if next == UInt8(ascii: "\"") || next == UInt8(ascii: "'") {
                            skipString()
                        } else if next == UInt8(ascii: "#") {
                            skipComment()
                        } else {
                            index += 1
                        }
                    }
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    atLineStart = false
                    open.append(byte)
                    index += 1
                case UInt8(ascii: "}") where open.last == UInt8(ascii: "["):
                    // toml++ takes it for the start of an array element and trips an assertion
                    // (`!is_value_terminator`); it can never be valid there.
                    return (line, index - lineStart + 1, "unexpected '}' in an array")
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    atLineStart = false
                    _ = open.popLast()
                    index += 1
                default:
                    atLineStart = false
                    index += 1
                }
            }
            return nil
        }

        mutating func skipComment() {
            while let next = peek(), next != UInt8(ascii: "\n") { index += 1 }
        }

        /// Moves past the string starting at `index`: "basic", 'literal', """multi-line basic"""
        /// or '''multi-line literal''' (whose closing delimiter may be followed by up to two
        /// more quotes that belong to the content).
        mutating func skipString() {
            let quote = bytes[index]
            let escapes = quote == UInt8(ascii: "\"")
            let isMultiLine = isTripleQuote(quote, at: index)
            index += isMultiLine ? 3 : 1
            while let byte = peek() {
                if escapes && byte == UInt8(ascii: "\\") {
                    index += 1
                    if peek() == UInt8(ascii: "\n") {
                        guard isMultiLine else { return }  // unterminated: toml++ reports it
                        passNewline()
                    } else if peek() != nil {
                        index += 1
                    }
                } else if byte == UInt8(ascii: "\n") {
                    guard isMultiLine else { return }  // unterminated: toml++ reports it
                    passNewline()
                } else if byte == quote && !isMultiLine {
                    index += 1
                    return
                } else if byte == quote && isTripleQuote(quote, at: index) {
                    index += 3
                    var extra = 0
                    while extra < 2 && peek() == quote {
                        index += 1
                        extra += 1
                    }
                    return
                } else {
                    index += 1
                }
            }
        }

        func isTripleQuote(_ quote: UInt8, at position: Int) -> Bool {
            position + 2 < bytes.count && bytes[position] == quote && bytes[position + 1] == quote
                && bytes[position + 2] == quote
        }
    }

    /// A key starts with a bare-key character or a quote; `]` (an empty key) and the end of the
    /// text are reported by toml++ itself.
    static func canFollowHeaderBracket(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") || byte == UInt8(ascii: "]")
    }
}
