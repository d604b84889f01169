import Foundation

/// Reads (never verifies) the payload of a JWT-shaped token.
enum JWT {
    static func payload(_ token: String) -> [String: Any]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var b64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// The token of an `Authorization: Bearer <token>` value, or nil.
    static func bearer(_ authorization: String?) -> String? {
        guard let a = authorization, a.lowercased().hasPrefix("bearer ") else { return nil }
        return String(a.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }
}
