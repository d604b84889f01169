/// A TOML syntax error: where it is and what is wrong, in words a user of the file understands.
struct TOMLParseError: Error, Equatable, CustomStringConvertible {
    /// 1-based.
    let line: Int
    /// 1-based, counted in Unicode scalars (what an editor shows as characters for nearly all
    /// text), not in bytes, so a non-ASCII key earlier on the line does not shift it.
    let column: Int
    let message: String

    init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// The error at byte `offset` of `bytes`. Computed only when an error is thrown (a parse
    /// stops at its first error), so the parser itself tracks no line numbers.
    init(_ message: String, at offset: Int, in bytes: [UInt8]) {
        let end = min(max(offset, 0), bytes.count)
        var line = 1
        var lineStart = 0
        for i in 0..<end where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        var column = 1
        for i in lineStart..<end where bytes[i] & 0xC0 != 0x80 {
            column += 1
        }
        self.init(line: line, column: column, message: message)
    }

    var description: String { "line \(line), column \(column): \(message)" }
}
