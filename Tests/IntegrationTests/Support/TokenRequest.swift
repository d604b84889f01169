import Foundation

/// One token request as recorded by `Tests/Fixtures/token_double.py`.
struct TokenRequest: Decodable {
    let method: String
    let path: String
    let version: String
    let headers: [[String]]
    /// The raw form body, bytes as latin-1 characters.
    let bodyLatin1: String
    let bodyB64: String
    let n: Int
    /// The access token the double answered with (nil on error modes).
    let issuedToken: String?
    /// When the double took the request (Unix seconds, this machine's clock).
    let t: Double?

    enum CodingKeys: String, CodingKey {
        case method, path, version, headers, n, t
        case bodyLatin1 = "body_latin1", bodyB64 = "body_b64", issuedToken = "issued_token"
    }

    func header(_ name: String) -> String? {
        headers.first { $0.first?.lowercased() == name.lowercased() }.map { $0.count > 1 ? $0[1] : "" }
    }

    var body: [UInt8] { Data(base64Encoded: bodyB64).map { [UInt8]($0) } ?? [] }

    /// The form body's `name=value` pairs, still percent-encoded, in order.
    var formPairs: [String] { bodyLatin1.split(separator: "&").map(String.init) }
}
