import Foundation

/// One response as read off the wire by `RawHTTPConnection`.
struct HTTPResponse {
    var version: String
    var status: Int
    var reason: String
    /// In wire order, names as sent.
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// 1xx responses (other than 101) that preceded this one, in order.
    var interim: [HTTPResponse] = []
    /// How the body was delimited: "length", "chunked", "close" or "none".
    var framing: String = "none"

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    func headers(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object, or nil when it is not one.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// The proxy's error code (`{"error": "..."}`), if the body is such an object.
    var errorCode: String? { json?["error"] as? String }
    var errorMessage: String? { json?["message"] as? String }

    /// Whether the response announces that the server closes the connection.
    var saysClose: Bool {
        headers("Connection").contains { $0.lowercased().split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "close" } }
    }

    /// A short description for failure messages (status line, headers, body prefix).
    var summary: String {
        let head = headers.map { "\($0.name): \($0.value)" }.joined(separator: " | ")
        return "\(version) \(status) \(reason) [\(head)] \(String(bodyText.prefix(300)))"
    }
}
