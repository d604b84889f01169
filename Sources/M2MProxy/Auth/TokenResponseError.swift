/// Why a `200` from the token endpoint is not a usable token. `description` is a fixed short
/// text for 503 answers and logs; it never contains the token or the body.
enum TokenResponseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Empty, not JSON, or JSON but not an object.
    case notJSON
    /// `access_token` missing, null or "".
    case noAccessToken
    /// `access_token` is not a string, or holds a byte that cannot go in a header.
    case invalidAccessToken
    /// `token_type` is not Bearer (compared case-insensitively). The payload is the server's
    /// value, sanitized to printable ASCII and at most 40 characters.
    case unsupportedTokenType(String)

    var description: String {
        switch self {
        case .notJSON: "token endpoint answer is not a JSON object"
        case .noAccessToken: "token endpoint answer has no access_token"
        case .invalidAccessToken: "token endpoint answer has an unusable access_token"
        case .unsupportedTokenType(let type): "token endpoint answer has unsupported token_type \(type)"
        }
    }

    /// Printable ASCII only, at most 40 characters, so a hostile server cannot put control
    /// characters or a long text into our answers and logs.
    static func sanitized(_ text: String) -> String {
        String(decoding: text.utf8.lazy.filter { $0 >= 0x20 && $0 <= 0x7E }.prefix(40), as: UTF8.self)
    }
}
