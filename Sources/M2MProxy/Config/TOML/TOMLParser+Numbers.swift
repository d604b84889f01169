/// Integers, floats and date-times: everything that starts with a digit, a sign, `inf` or `nan`.
extension TOMLParser {
    mutating func parseNumberOrDateTime() throws(TOMLParseError) -> TOMLValue {
        if isDigit(at: pos), isDigit(at: pos + 1) {
            if isDigit(at: pos + 2), isDigit(at: pos + 3), byte(at: pos + 4) == UInt8(ascii: "-") {
                return try parseDateTime()
            }
            if byte(at: pos + 2) == UInt8(ascii: ":") {
                let start = pos
                try parseTime()
                return .datetime(String(decoding: bytes[start..<pos], as: UTF8.self))
            }
        }
        return try parseNumber()
    }

    // MARK: Numbers

    /// The number's characters run to the next delimiter; the whole run is then checked against
    /// TOML's grammar, so `1x` or `0x` is one clear error instead of a value and junk.
    private mutating func parseNumber() throws(TOMLParseError) -> TOMLValue {
        let start = pos
        while let byte = peek(), Self.isNumberByte(byte) { pos += 1 }
        let end = pos
        var i = start
        var negative = false
        let signed = bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")
        if signed {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        let rest = bytes[i..<end]
        if rest.elementsEqual("inf".utf8) { return .float(negative ? -.infinity : .infinity) }
        if rest.elementsEqual("nan".utf8) { return .float(negative ? -.nan : .nan) }

        if rest.count > 2, bytes[i] == UInt8(ascii: "0"), let radix = Self.radix(prefix: bytes[i + 1]) {
            guard !signed else { throw error("a hexadecimal, octal or binary integer cannot have a sign", at: start) }
            let digitsEnd = try digits(from: i + 2, to: end, radix: radix, numberAt: start)
            guard digitsEnd == end, digitsEnd > i + 2 else { throw invalidNumber(start, end) }
            return .integer(try integer(bytes[(i + 2)..<end], radix: radix, negative: false, numberAt: start))
        }

        let integerEnd = try digits(from: i, to: end, radix: 10, numberAt: start)
        guard integerEnd > i else { throw invalidNumber(start, end) }
        if bytes[i] == UInt8(ascii: "0"), integerEnd > i + 1 {
            throw error("leading zeros are not allowed in a number", at: start)
        }
        var j = integerEnd
        var isFloat = false
        if j < end, bytes[j] == UInt8(ascii: ".") {
            let fractionEnd = try digits(from: j + 1, to: end, radix: 10, numberAt: start)
            guard fractionEnd > j + 1 else { throw error("a decimal point must be followed by digits", at: start) }
            j = fractionEnd
            isFloat = true
        }
        if j < end, bytes[j] == UInt8(ascii: "e") || bytes[j] == UInt8(ascii: "E") {
            j += 1
            if j < end, bytes[j] == UInt8(ascii: "+") || bytes[j] == UInt8(ascii: "-") { j += 1 }
            let exponentEnd = try digits(from: j, to: end, radix: 10, numberAt: start)
            guard exponentEnd > j else { throw error("an exponent must have digits", at: start) }
            j = exponentEnd
            isFloat = true
        }
        guard j == end else { throw invalidNumber(start, end) }
        guard isFloat else {
            return .integer(try integer(bytes[i..<end], radix: 10, negative: negative, numberAt: start))
        }
        // The grammar is checked; without underscores the text is one strtod accepts, which
        // rounds correctly (as Python's float() does).
        let text = String(decoding: bytes[start..<end].lazy.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        guard let value = Double(text) else { throw invalidNumber(start, end) }
        return .float(value)
    }

    /// `0x`, `0o`, `0b` (lower case only, as TOML says).
    private static func radix(prefix byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "x"): return 16
        case UInt8(ascii: "o"): return 8
        case UInt8(ascii: "b"): return 2
        default: return nil
        }
    }

    /// Letters too: hex digits, exponents, and junk that makes the number invalid as a whole.
    private static func isNumberByte(_ byte: UInt8) -> Bool {
        isBareKeyByte(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
    }

    /// Past digits of `radix` with single underscores between them.
    private func digits(from start: Int, to end: Int, radix: Int, numberAt numberStart: Int) throws(TOMLParseError) -> Int {
        var i = start
        while i < end {
            let byte = bytes[i]
            if let digit = Self.hexDigit(byte), Int(digit) < radix {
                i += 1
            } else if byte == UInt8(ascii: "_") {
                guard i > start, i + 1 < end, let next = Self.hexDigit(bytes[i + 1]), Int(next) < radix else {
                    throw error("an underscore in a number must be between two digits", at: numberStart)
                }
                i += 1
            } else {
                break
            }
        }
        return i
    }

    /// Digits (and underscores) to an Int64, refusing what does not fit.
    private func integer(_ digits: ArraySlice<UInt8>, radix: Int, negative: Bool, numberAt start: Int) throws(TOMLParseError) -> Int64 {
        // The magnitude of Int64.min is one more than Int64.max.
        let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        var magnitude: UInt64 = 0
        for byte in digits where byte != UInt8(ascii: "_") {
            let (shifted, o1) = magnitude.multipliedReportingOverflow(by: UInt64(radix))
            let (sum, o2) = shifted.addingReportingOverflow(UInt64(Self.hexDigit(byte)!))
            guard !o1, !o2, sum <= limit else {
                throw error("integer out of range (TOML integers are 64-bit: -9223372036854775808 to 9223372036854775807)", at: start)
            }
            magnitude = sum
        }
        return negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude)
    }

    /// The value itself is not quoted in the message: an unquoted secret (`client_secret =
    /// 9f3a…`) lands here, and problems are printed and logged. The column points at it.
    private func invalidNumber(_ start: Int, _ end: Int) -> TOMLParseError {
        error("invalid number (a string needs quotes)", at: start)
    }

    // MARK: Date-times

    /// `1979-05-27`, optionally followed by `T` (or `t`, or a space) and a time, optionally
    /// followed by `Z` or an offset. Kept as written; see `TOMLValue.datetime`.
    private mutating func parseDateTime() throws(TOMLParseError) -> TOMLValue {
        let start = pos
        let year = number(at: pos, count: 4)
        guard byte(at: pos + 4) == UInt8(ascii: "-"), isDigit(at: pos + 5), isDigit(at: pos + 6),
              byte(at: pos + 7) == UInt8(ascii: "-"), isDigit(at: pos + 8), isDigit(at: pos + 9)
        else { throw error("invalid date: expected YYYY-MM-DD") }
        let month = number(at: pos + 5, count: 2)
        let day = number(at: pos + 8, count: 2)
        // Python's date starts at year 1, so tomllib refuses year 0; so does this.
        guard year >= 1, (1...12).contains(month), day >= 1, day <= Self.days(inMonth: month, year: year) else {
            // Not echoed, like a number: it could be an unquoted secret's first characters.
            throw error("invalid date (no such month or day)")
        }
        pos += 10
        let hasTime: Bool
        switch peek() {
        case UInt8(ascii: "T"), UInt8(ascii: "t"):
            hasTime = true
        case UInt8(ascii: " "):
            // A space separates date and time only when a time follows; otherwise it ends the date.
            hasTime = isDigit(at: pos + 1) && isDigit(at: pos + 2) && byte(at: pos + 3) == UInt8(ascii: ":")
        default:
            hasTime = false
        }
        if hasTime {
            pos += 1
            try parseTime()
            switch peek() {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                pos += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                guard isDigit(at: pos + 1), isDigit(at: pos + 2), byte(at: pos + 3) == UInt8(ascii: ":"),
                      isDigit(at: pos + 4), isDigit(at: pos + 5),
                      number(at: pos + 1, count: 2) <= 23, number(at: pos + 4, count: 2) <= 59
                else { throw error("invalid time offset: expected Z or ±HH:MM") }
                pos += 6
            default:
                break
            }
        }
        return .datetime(String(decoding: bytes[start..<pos], as: UTF8.self))
    }

    /// `HH:MM:SS` with an optional fraction. Seconds stop at 59, as in tomllib (Python's
    /// datetime has no leap second).
    private mutating func parseTime() throws(TOMLParseError) {
        guard isDigit(at: pos), isDigit(at: pos + 1), byte(at: pos + 2) == UInt8(ascii: ":"),
              isDigit(at: pos + 3), isDigit(at: pos + 4), byte(at: pos + 5) == UInt8(ascii: ":"),
              isDigit(at: pos + 6), isDigit(at: pos + 7)
        else { throw error("invalid time: expected HH:MM:SS") }
        guard number(at: pos, count: 2) <= 23, number(at: pos + 3, count: 2) <= 59, number(at: pos + 6, count: 2) <= 59 else {
            throw error("invalid time (hour, minute or second out of range)")
        }
        pos += 8
        if peek() == UInt8(ascii: ".") {
            pos += 1
            guard isDigit(at: pos) else { throw error("invalid time: a '.' must be followed by digits") }
            while isDigit(at: pos) { pos += 1 }
        }
    }

    private func isDigit(at offset: Int) -> Bool {
        guard let byte = byte(at: offset) else { return false }
        return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// `count` ASCII digits at `offset` (checked by the caller).
    private func number(at offset: Int, count: Int) -> Int {
        var value = 0
        for i in offset..<(offset + count) { value = value * 10 + Int(bytes[i] - UInt8(ascii: "0")) }
        return value
    }

    static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
