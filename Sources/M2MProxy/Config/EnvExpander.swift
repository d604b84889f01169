/// Expands `${VAR}` and `${VAR:-default}` in a configuration string.
///
/// Rules (DESIGN.md §3):
/// - `${VAR}` is replaced by the variable's value; an unset variable is an error (a set but empty
///   one expands to "").
/// - `${VAR:-default}` uses `default` when the variable is unset *or empty*, as the shell does.
///   The default runs to the first `}` and is not expanded itself.
/// - A `$` not followed by `{` stays as written, and so does `$$` (both characters; a `{` right
///   after it is then plain text), so inline secrets containing `$` survive unchanged.
/// - `VAR` is `[A-Za-z_][A-Za-z0-9_]*`.
///
/// Error messages name the variable but never repeat the surrounding text, which may be a secret.
enum EnvExpander {
    static func expand(_ text: String, environment: [String: String]) -> Result<String, ConfigValueError> {
        // Fast path: most values hold no `$` at all.
        guard text.utf8.contains(UInt8(ascii: "$")) else { return .success(text) }

        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "$") else {
                output.append(byte)
                index += 1
                continue
            }
            let next: UInt8? = index + 1 < bytes.count ? bytes[index + 1] : nil
            if next == UInt8(ascii: "$") {
                output.append(contentsOf: [byte, byte])
                index += 2
                continue
            }
            guard next == UInt8(ascii: "{") else {
                output.append(byte)
                index += 1
                continue
            }
            // `${` … `}`
            guard let close = bytes[(index + 2)...].firstIndex(of: UInt8(ascii: "}")) else {
                return .failure(ConfigValueError("unterminated ${ (missing })"))
            }
            let inner = bytes[(index + 2)..<close]
            let name: ArraySlice<UInt8>
            let fallback: ArraySlice<UInt8>?
            if let colon = inner.firstIndex(of: UInt8(ascii: ":")) {
                guard colon + 1 < inner.endIndex, inner[colon + 1] == UInt8(ascii: "-") else {
                    return .failure(ConfigValueError("invalid ${...}: use ${NAME} or ${NAME:-default}"))
                }
                name = inner[inner.startIndex..<colon]
                fallback = inner[(colon + 2)...]
            } else {
                name = inner
                fallback = nil
            }
            guard isValidName(name) else {
                return .failure(ConfigValueError("invalid ${...}: use ${NAME} or ${NAME:-default}"))
            }
            let nameString = String(decoding: name, as: UTF8.self)
            if let fallback {
                if let value = environment[nameString], !value.isEmpty {
                    output.append(contentsOf: value.utf8)
                } else {
                    output.append(contentsOf: fallback)
                }
            } else {
                guard let value = environment[nameString] else {
                    return .failure(ConfigValueError("environment variable \(nameString) is not set"))
                }
                output.append(contentsOf: value.utf8)
            }
            index = close + 1
        }
        return .success(String(decoding: output, as: UTF8.self))
    }

    private static func isValidName(_ name: ArraySlice<UInt8>) -> Bool {
        guard let first = name.first, isLetterOrUnderscore(first) else { return false }
        return name.allSatisfy { isLetterOrUnderscore($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }
    }

    private static func isLetterOrUnderscore(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_")
    }
}
