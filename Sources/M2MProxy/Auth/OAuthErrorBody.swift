/// Reads an OAuth 2.0 error answer (RFC 6749 §5.2), e.g. Logto's
/// `{"error":"invalid_client","error_description":"client authentication failed", ...}`.
///
/// Tolerant: Glewlwyd answers client-auth failures with an empty body, and proxies in front
/// of a token endpoint answer HTML; both give nil. The values are sanitized (printable ASCII,
/// at most 200 characters) because they end up in our logs and 503 messages.
enum OAuthErrorBody {
    static let maxLength = 200

    static func parse(_ body: [UInt8]) -> (code: String, description: String?)? {
        guard !body.isEmpty, let document = try? JSONParser.parse(body),
            let rawCode = document["error"]?.stringValue
        else { return nil }
        let code = sanitized(rawCode)
        guard !code.isEmpty else { return nil }
        let description = document["error_description"]?.stringValue.map(sanitized)
        return (code, description?.isEmpty == false ? description : nil)
    }

    /// Keeps printable ASCII (0x20–0x7E) and cuts at `maxLength` characters.
    static func sanitized(_ text: String) -> String {
        String(decoding: text.utf8.lazy.filter { $0 >= 0x20 && $0 <= 0x7E }.prefix(maxLength), as: UTF8.self)
    }
}
