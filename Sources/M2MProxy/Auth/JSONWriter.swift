/// Serializes a `JSONValue` compactly, with object keys sorted so that output is deterministic
/// (admin answers and tests compare text). Used for the proxy's own small JSON bodies.
enum JSONWriter {
    static func write(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let number): out += format(number)
        case .string(let text):
            out += "\""
            out += jsonEscaped(text)
            out += "\""
        case .array(let elements):
            out += "["
            for (position, element) in elements.enumerated() {
                if position > 0 { out += "," }
                write(element, into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (position, key) in members.keys.sorted().enumerated() {
                if position > 0 { out += "," }
                out += "\""
                out += jsonEscaped(key)
                out += "\":"
                write(members[key]!, into: &out)
            }
            out += "}"
        }
    }

    /// Integral values print without a fraction ("3600", not "3600.0"); JSON has no NaN or
    /// infinity, so those become `null`.
    private static func format(_ number: Double) -> String {
        guard number.isFinite else { return "null" }
        if number == number.rounded(.towardZero), abs(number) < 9.0e15 {
            return String(Int64(number))
        }
        return String(number)
    }
}

/// The body of a JSON string literal for `text`, without the surrounding quotes: `"` and `\`
/// are escaped, control characters become `\n`-style or `\u00XX` escapes, everything else is
/// kept as UTF-8. Example: `"{\"error\":\"\(jsonEscaped(message))\"}"`.
func jsonEscaped(_ text: String) -> String {
    var out = ""
    out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case "\u{00}"..."\u{1F}", "\u{7F}", "\u{2028}", "\u{2029}":
            // DEL and the JavaScript line separators are legal raw but surprise log readers
            // and JS consumers; escaping them costs nothing.
            let hex = String(scalar.value, radix: 16, uppercase: false)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default:
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}
