/// A usable successful answer from a token endpoint (RFC 6749 §5.1).
///
/// `parse` decides whether a `200` body is usable; anything it refuses is a failure to retry
/// like a 5xx (DESIGN.md §5), not a fatal error.
struct TokenResponse: Sendable, Equatable {
    /// Safe to put in a header: non-empty visible ASCII only.
    let accessToken: Secret
    /// Whole seconds, at least 1; nil when absent, zero, negative or not a number (the caller
    /// then uses the JWT `exp`, else its default lifetime).
    let expiresIn: Int?
    /// As the server spelled it ("Bearer", "bearer"), or "Bearer" when it was omitted. The proxy
    /// always sends `Bearer`, whatever the case here.
    let tokenType: String
    /// The granted scope as sent; "" is kept (Logto's organization tokens send it).
    let scope: String?

    /// `expires_in` above this is clamped, so later `now + lifetime` arithmetic in milliseconds
    /// can never overflow (Int32.max seconds is about 68 years).
    static let maxExpiresIn = Int(Int32.max)

    static func parse(_ body: [UInt8]) -> Result<TokenResponse, TokenResponseError> {
        guard let document = try? JSONParser.parse(body), let members = document.objectValue else {
            return .failure(.notJSON)
        }

        let token: String
        switch members["access_token"] {
        case nil, .null?: return .failure(.noAccessToken)
        case .string(let text)?:
            if text.isEmpty { return .failure(.noAccessToken) }
            token = text
        default: return .failure(.invalidAccessToken)
        }
        // The token goes verbatim into `Authorization: Bearer <token>`. RFC 6750's b64token is
        // narrower, but real servers mint other visible ASCII; what must never pass is a space,
        // CR/LF or other control byte (header injection) or non-ASCII (invalid in a field value).
        guard token.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            return .failure(.invalidAccessToken)
        }

        let tokenType: String
        switch members["token_type"] {
        case nil, .null?:
            // RFC 6749 says required, but a missing type can only mean Bearer in practice.
            tokenType = "Bearer"
        case .string(let text)?:
            guard text.lowercased() == "bearer" else {
                return .failure(.unsupportedTokenType(TokenResponseError.sanitized(text)))
            }
            tokenType = text
        default:
            return .failure(.unsupportedTokenType("(not a string)"))
        }

        let scope = members["scope"]?.stringValue

        return .success(TokenResponse(
            accessToken: Secret(token), expiresIn: lifetime(members["expires_in"]),
            tokenType: tokenType, scope: scope))
    }

    /// `expires_in` as a number (floored) or a numeric string ("3600"; some providers quote
    /// it). Anything else, or a value below 1, means unknown.
    private static func lifetime(_ value: JSONValue?) -> Int? {
        let seconds: Double
        switch value {
        case .number(let number)?:
            seconds = number
        case .string(let text)?:
            let trimmed = text.trimmingASCIIWhitespace()
            // Only plain decimal text: `Double("0x10")` or `Double("inf")` would also parse.
            guard !trimmed.isEmpty,
                trimmed.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") }),
                let number = Double(trimmed)
            else { return nil }
            seconds = number
        default:
            return nil
        }
        guard seconds.isFinite else { return nil }
        let floored = seconds.rounded(.down)
        guard floored >= 1 else { return nil }
        return floored >= Double(maxExpiresIn) ? maxExpiresIn : Int(floored)
    }
}
