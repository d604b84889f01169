/// A TOML 1.0 parser (https://toml.io/en/v1.0.0) over the document's UTF-8 bytes.
///
/// It replaces TOMLKit (Swift over the C++ toml++), which pulled Foundation and ICU into the
/// binary, leaked on every load and SIGHUP reload, and crashed on some malformed headers.
/// Everything is linear in the size of the input: one pass over the bytes, dictionary lookups
/// for keys, strings built from whole runs of bytes, tables mutated in place by reference
/// (`TOMLTableBuilder`). It stops at the first error. `Tests/.../TOMLDifferentialTests.swift`
/// holds it to Python's `tomllib` on a corpus of valid and invalid documents.
struct TOMLParser {
    /// The document; CR LF already turned into LF (see `parse(bytes:)`).
    let bytes: [UInt8]
    var pos = 0
    /// Number of the current section: 0 before the first header, then one more per header.
    /// Dotted keys may extend a table that dotted keys created only within the same section.
    var section = 0
    /// Arrays and inline tables open around the current value, plus key parts inside them.
    var depth = 0
    let root = TOMLTableBuilder(origin: .defined)
    /// The table that key/value lines go into: the root, or the last `[header]`'s.
    var current: TOMLTableBuilder

    /// Nesting beyond this is refused: the parser and `freeze()` recurse, and a hostile or broken
    /// file must produce an error, not a stack overflow. Real configs nest 3 levels.
    static let maxDepth = 100

    static func parse(_ text: String) throws(TOMLParseError) -> TOMLTable {
        try parse(bytes: Array(text.utf8))
    }

    /// - Parameter bytes: valid UTF-8 (both callers have a `String`, which guarantees it).
    static func parse(bytes input: [UInt8]) throws(TOMLParseError) -> TOMLTable {
        // A UTF-8 byte-order mark at the start is skipped, as toml++ (the parser before this
        // one) and most editors' readers do: a config saved by Windows Notepad kept loading
        // before, and an upgrade must not turn it into a start-up failure. (tomllib refuses
        // one; TOML 1.0 is silent.) Dropped before parsing, so columns on line 1 still count
        // from the first visible character.
        let body = input.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(input.dropFirst(3)) : input
        var parser = TOMLParser(bytes: normalizingLineEndings(body))
        return try parser.parseDocument()
    }

    /// TOML allows LF or CR LF line endings and keeps a multi-line string's newlines as LF, as
    /// `tomllib` does. Dropping the CR of each CR LF up front keeps every later rule to one byte;
    /// line and column numbers do not change, since a CR LF only ends a line. A CR on its own
    /// stays, and is an error wherever it appears.
    static func normalizingLineEndings(_ input: [UInt8]) -> [UInt8] {
        guard input.contains(UInt8(ascii: "\r")) else { return input }
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        for i in input.indices {
            if input[i] == UInt8(ascii: "\r"), i + 1 < input.count, input[i + 1] == UInt8(ascii: "\n") { continue }
            output.append(input[i])
        }
        return output
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
        self.current = root
    }

    // MARK: Document

    private mutating func parseDocument() throws(TOMLParseError) -> TOMLTable {
        while true {
            skipWhitespace()
            guard let byte = peek() else { break }
            switch byte {
            case UInt8(ascii: "\n"):
                pos += 1
            case UInt8(ascii: "#"):
                try skipComment()
            case UInt8(ascii: "["):
                try parseHeader()
                try expectLineEnd(after: "a table header")
            default:
                try parseKeyValue(into: current, section: section)
                try expectLineEnd(after: "a value")
            }
        }
        return root.freeze()
    }

    /// After a statement: spaces, maybe a comment, then a newline or the end.
    private mutating func expectLineEnd(after what: String) throws(TOMLParseError) {
        skipWhitespace()
        if peek() == UInt8(ascii: "#") { try skipComment() }
        guard let byte = peek() else { return }
        guard byte == UInt8(ascii: "\n") else {
            throw error("expected the end of the line after \(what), found \(Self.describe(byte, in: bytes, at: pos))")
        }
        pos += 1
    }

    // MARK: Headers

    private mutating func parseHeader() throws(TOMLParseError) {
        let start = pos
        pos += 1
        let isArray = peek() == UInt8(ascii: "[")
        if isArray { pos += 1 }
        let keys = try parseKey()
        guard peek() == UInt8(ascii: "]") else {
            throw error(isArray ? "expected ']]' to close the table header" : "expected ']' to close the table header")
        }
        pos += 1
        if isArray {
            guard peek() == UInt8(ascii: "]") else { throw error("expected ']]' to close the array-of-tables header") }
            pos += 1
        }
        section += 1
        current = isArray ? try openArrayElement(keys, headerAt: start) : try openTable(keys, headerAt: start)
    }

    /// `[a.b.c]`: `a` and `b` are walked (created as implicit tables when absent, the last
    /// element when an array of tables), `c` is defined.
    private mutating func openTable(_ keys: [Key], headerAt start: Int) throws(TOMLParseError) -> TOMLTableBuilder {
        let parent = try walkHeader(keys, headerAt: start)
        let last = keys[keys.count - 1].name
        // Only an error needs the written name.
        var name: String { Self.display(keys) }
        switch parent[last] {
        case nil:
            let table = TOMLTableBuilder(origin: .defined)
            parent.add(last, .table(table))
            return table
        case .table(let table):
            switch table.origin {
            case .implicit:
                table.origin = .defined
                return table
            case .defined:
                throw error("table [\(name)] is already defined", at: start)
            case .dotted:
                throw error("table [\(name)] is already defined by dotted keys", at: start)
            }
        case .tableArray:
            throw error("[\(name)] is already an array of tables ([[\(name)]])", at: start)
        case .value(let value):
            throw error("cannot define table [\(name)]: '\(name)' is already \(Self.kind(of: value))", at: start)
        }
    }

    /// `[[a.b]]`: a new element at the end of the array `a.b`.
    private mutating func openArrayElement(_ keys: [Key], headerAt start: Int) throws(TOMLParseError) -> TOMLTableBuilder {
        let parent = try walkHeader(keys, headerAt: start)
        let last = keys[keys.count - 1].name
        // Only an error needs the written name.
        var name: String { Self.display(keys) }
        let element = TOMLTableBuilder(origin: .defined)
        switch parent[last] {
        case nil:
            let array = TOMLTableArrayBuilder()
            array.elements.append(element)
            parent.add(last, .tableArray(array))
        case .tableArray(let array):
            array.elements.append(element)
        case .table:
            throw error("cannot define [[\(name)]]: [\(name)] is already a table", at: start)
        case .value(.array):
            throw error("cannot append to '\(name)' with [[\(name)]]: it is a static array", at: start)
        case .value(let value):
            throw error("cannot define [[\(name)]]: '\(name)' is already \(Self.kind(of: value))", at: start)
        }
        return element
    }

    /// The table that holds the header's last key.
    private func walkHeader(_ keys: [Key], headerAt start: Int) throws(TOMLParseError) -> TOMLTableBuilder {
        var table = root
        for i in 0..<(keys.count - 1) {
            let key = keys[i].name
            switch table[key] {
            case nil:
                let child = TOMLTableBuilder(origin: .implicit)
                table.add(key, .table(child))
                table = child
            case .table(let child):
                table = child
            case .tableArray(let array):
                table = array.elements[array.elements.count - 1]
            case .value(let value):
                let name = Self.display(keys[...i])
                throw error("cannot define [\(Self.display(keys))]: '\(name)' is \(Self.kind(of: value)), which cannot be extended", at: start)
            }
        }
        return table
    }

    // MARK: Key/value pairs

    private mutating func parseKeyValue(into table: TOMLTableBuilder, section: Int) throws(TOMLParseError) {
        let start = pos
        let keys = try parseKey()
        guard peek() == UInt8(ascii: "=") else {
            if let byte = peek(), byte != UInt8(ascii: "\n") {
                throw error("expected '=' after a key, found \(Self.describe(byte, in: bytes, at: pos))")
            }
            throw error("expected '=' after a key")
        }
        pos += 1
        skipWhitespace()
        let value = try parseValue()
        try insert(value, at: keys, into: table, section: section, keyAt: start)
    }

    /// `a.b.c = value` in `table`: `a` and `b` are tables that dotted keys of this section
    /// created (or create now), or implicit ones; `c` must be new.
    private func insert(_ value: TOMLValue, at keys: [Key], into table: TOMLTableBuilder, section: Int, keyAt start: Int) throws(TOMLParseError) {
        var table = table
        for i in 0..<(keys.count - 1) {
            let key = keys[i].name
            switch table[key] {
            case nil:
                let child = TOMLTableBuilder(origin: .dotted(section: section))
                table.add(key, .table(child))
                table = child
            case .table(let child):
                switch child.origin {
                case .implicit:
                    // A header only named it as a parent; the dotted keys define it now, so no
                    // later [header] may (tomllib does the same).
                    child.origin = .dotted(section: section)
                case .dotted(let created) where created == section:
                    break
                case .defined, .dotted:
                    throw error("cannot add '\(Self.display(keys))': table [\(Self.display(keys[...i]))] is already defined elsewhere", at: start)
                }
                table = child
            case .tableArray:
                throw error("cannot add '\(Self.display(keys))': '\(Self.display(keys[...i]))' is an array of tables", at: start)
            case .value(let existing):
                throw error("cannot add '\(Self.display(keys))': '\(Self.display(keys[...i]))' is already \(Self.kind(of: existing))", at: start)
            }
        }
        let last = keys[keys.count - 1].name
        guard table[last] == nil else {
            throw error("duplicate key '\(Self.display(keys))'", at: keys[keys.count - 1].offset)
        }
        table.add(last, .value(value))
    }

    // MARK: Keys

    struct Key {
        var name: String
        /// Where it starts, for errors.
        var offset: Int
    }

    /// A bare, quoted or dotted key, and the whitespace around it.
    private mutating func parseKey() throws(TOMLParseError) -> [Key] {
        var keys: [Key] = []
        while true {
            skipWhitespace()
            let start = pos
            // Checked per part: a 4 MB file of `a.a.a…` must fail before it holds millions of keys.
            guard keys.count < Self.maxDepth else { throw error("the key has more than \(Self.maxDepth) parts") }
            keys.append(Key(name: try parseSimpleKey(), offset: start))
            skipWhitespace()
            guard peek() == UInt8(ascii: ".") else { break }
            pos += 1
        }
        return keys
    }

    private mutating func parseSimpleKey() throws(TOMLParseError) -> String {
        guard let byte = peek() else { throw error("expected a key, found the end of the file") }
        if byte == UInt8(ascii: "\"") {
            if isTripleQuote(byte) { throw error("a multi-line string cannot be a key") }
            return try parseBasicString()
        }
        if byte == UInt8(ascii: "'") {
            if isTripleQuote(byte) { throw error("a multi-line string cannot be a key") }
            return try parseLiteralString()
        }
        let start = pos
        while let next = peek(), Self.isBareKeyByte(next) { pos += 1 }
        guard pos > start else {
            throw error("expected a key, found \(Self.describe(byte, in: bytes, at: pos))")
        }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    // MARK: Values

    mutating func parseValue() throws(TOMLParseError) -> TOMLValue {
        guard let byte = peek() else { throw error("expected a value, found the end of the file") }
        switch byte {
        case UInt8(ascii: "\""):
            return .string(isTripleQuote(byte) ? try parseMultiLineBasicString() : try parseBasicString())
        case UInt8(ascii: "'"):
            return .string(isTripleQuote(byte) ? try parseMultiLineLiteralString() : try parseLiteralString())
        case UInt8(ascii: "t"):
            return try parseWord("true", .boolean(true))
        case UInt8(ascii: "f"):
            return try parseWord("false", .boolean(false))
        case UInt8(ascii: "["):
            return try parseArray()
        case UInt8(ascii: "{"):
            return try parseInlineTable()
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "i"), UInt8(ascii: "n"):
            return try parseNumberOrDateTime()
        case UInt8(ascii: "\n"):
            throw error("expected a value, found the end of the line")
        default:
            let hint = Self.isBareKeyByte(byte) ? " (a string needs quotes)" : ""
            throw error("expected a value, found \(Self.describe(byte, in: bytes, at: pos))\(hint)")
        }
    }

    private mutating func parseWord(_ word: StaticString, _ value: TOMLValue) throws(TOMLParseError) -> TOMLValue {
        let text = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard pos + text.count <= bytes.count, bytes[pos..<(pos + text.count)].elementsEqual(text) else {
            throw error("expected a value (a string needs quotes)")
        }
        pos += text.count
        return value
    }

    private mutating func parseArray() throws(TOMLParseError) -> TOMLValue {
        let open = pos
        try enter(open)
        defer { depth -= 1 }
        pos += 1
        var elements: [TOMLValue] = []
        while true {
            try skipWhitespaceCommentsAndNewlines()
            guard let byte = peek() else { throw error("unterminated array: expected ']'", at: open) }
            if byte == UInt8(ascii: "]") {
                pos += 1
                return .array(elements)
            }
            elements.append(try parseValue())
            try skipWhitespaceCommentsAndNewlines()
            guard let next = peek() else { throw error("unterminated array: expected ']'", at: open) }
            switch next {
            case UInt8(ascii: ","):
                pos += 1
            case UInt8(ascii: "]"):
                pos += 1
                return .array(elements)
            default:
                throw error("expected ',' or ']' after an array element, found \(Self.describe(next, in: bytes, at: pos))")
            }
        }
    }

    /// `{ a = 1, b.c = 2 }`: on one line, no trailing comma, and complete once closed.
    private mutating func parseInlineTable() throws(TOMLParseError) -> TOMLValue {
        let open = pos
        try enter(open)
        defer { depth -= 1 }
        pos += 1
        let table = TOMLTableBuilder(origin: .defined)
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            pos += 1
            return .table(table.freeze())
        }
        while true {
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: "\n"): throw error("an inline table must stay on one line (TOML 1.0)")
            case UInt8(ascii: "}"): throw error("a trailing comma is not allowed in an inline table")
            default: break
            }
            let start = pos
            let keys = try parseKey()
            depth += keys.count
            defer { depth -= keys.count }
            guard depth <= Self.maxDepth else { throw error("values are nested more than \(Self.maxDepth) levels deep", at: start) }
            guard peek() == UInt8(ascii: "=") else { throw error("expected '=' after a key") }
            pos += 1
            skipWhitespace()
            let value = try parseValue()
            // One builder, one section: dotted keys within the braces may share parents.
            try insert(value, at: keys, into: table, section: 0, keyAt: start)
            skipWhitespace()
            guard let next = peek() else { throw error("unterminated inline table: expected '}'", at: open) }
            switch next {
            case UInt8(ascii: ","):
                pos += 1
            case UInt8(ascii: "}"):
                pos += 1
                return .table(table.freeze())
            case UInt8(ascii: "\n"):
                throw error("an inline table must stay on one line (TOML 1.0)")
            default:
                throw error("expected ',' or '}' in an inline table, found \(Self.describe(next, in: bytes, at: pos))")
            }
        }
    }

    private mutating func enter(_ open: Int) throws(TOMLParseError) {
        depth += 1
        guard depth <= Self.maxDepth else {
            depth -= 1
            throw error("values are nested more than \(Self.maxDepth) levels deep", at: open)
        }
    }

    // MARK: Bytes

    func peek() -> UInt8? {
        pos < bytes.count ? bytes[pos] : nil
    }

    func byte(at offset: Int) -> UInt8? {
        offset < bytes.count ? bytes[offset] : nil
    }

    func isTripleQuote(_ quote: UInt8) -> Bool {
        byte(at: pos + 1) == quote && byte(at: pos + 2) == quote
    }

    mutating func skipWhitespace() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { pos += 1 }
    }

    /// Between array elements.
    private mutating func skipWhitespaceCommentsAndNewlines() throws(TOMLParseError) {
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"): pos += 1
            case UInt8(ascii: "#"): try skipComment()
            default: return
            }
        }
    }

    /// From `#` to the end of the line (the newline stays).
    private mutating func skipComment() throws(TOMLParseError) {
        while let byte = peek(), byte != UInt8(ascii: "\n") {
            if Self.isControl(byte) && byte != UInt8(ascii: "\t") {
                throw error("\(Self.describe(byte, in: bytes, at: pos)) is not allowed in a comment")
            }
            pos += 1
        }
    }

    /// U+0000–U+001F and U+007F, which TOML allows nowhere except tab (and newline where a line
    /// may end).
    static func isControl(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F
    }

    // MARK: Errors

    func error(_ message: String) -> TOMLParseError {
        error(message, at: pos)
    }

    func error(_ message: String, at offset: Int) -> TOMLParseError {
        TOMLParseError(message, at: offset, in: bytes)
    }

    /// The character at `offset` as a message shows it.
    static func describe(_ byte: UInt8, in bytes: [UInt8], at offset: Int) -> String {
        switch byte {
        case UInt8(ascii: "\n"): return "the end of the line"
        case UInt8(ascii: "\r"): return "a carriage return without a line feed"
        case _ where isControl(byte): return "control character U+\(hex(byte, digits: 4))"
        case 0x20..<0x7F: return "'\(Character(Unicode.Scalar(byte)))'"
        default:
            // The start of a multi-byte character (the input is valid UTF-8): quote it whole.
            var end = offset + 1
            while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
            return "'\(String(decoding: bytes[offset..<end], as: UTF8.self))'"
        }
    }

    static func hex(_ value: some BinaryInteger, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// `a.b."c d"`, the way the key would be written.
    static func display(_ keys: some Collection<Key>) -> String {
        keys.map { key in
            !key.name.isEmpty && key.name.utf8.allSatisfy(isBareKeyByte) ? key.name : "\"\(key.name)\""
        }.joined(separator: ".")
    }

    /// "an integer", "an inline table", … for messages about a key that already holds one.
    static func kind(of value: TOMLValue) -> String {
        switch value {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a float"
        case .boolean: return "a boolean"
        case .datetime: return "a date-time"
        case .array: return "a static array"
        case .table: return "an inline table"
        }
    }
}
