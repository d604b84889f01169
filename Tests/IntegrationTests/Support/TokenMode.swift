import Foundation

/// How `token_double.py` answers token requests (see `POST /_mode` in its docstring).
struct TokenMode: Encodable {
    var status = 200
    var ttl = 3600
    var tokenType = "Bearer"
    var delayMs = 0
    /// Sent verbatim with `status` instead of a token or an error object.
    var body: String? = nil
    var retryAfter: String? = nil
    var error = "invalid_client"
    var omitExpiresIn = false
    /// Close the connection without answering.
    var drop = false

    enum CodingKeys: String, CodingKey {
        case status, ttl, body, error, drop
        case tokenType = "token_type", delayMs = "delay_ms", retryAfter = "retry_after", omitExpiresIn = "omit_expires_in"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(ttl, forKey: .ttl)
        try c.encode(tokenType, forKey: .tokenType)
        try c.encode(delayMs, forKey: .delayMs)
        try c.encode(body, forKey: .body)  // explicit null
        try c.encode(retryAfter, forKey: .retryAfter)
        try c.encode(error, forKey: .error)
        try c.encode(omitExpiresIn, forKey: .omitExpiresIn)
        try c.encode(drop, forKey: .drop)
    }

    var json: String { String(decoding: try! JSONEncoder().encode(self), as: UTF8.self) }
}
