/// The claims the token cache reads from a JWT access token, for lifetime fallback and
/// diagnostics (DESIGN.md §5). Only the payload is decoded; the signature is NOT checked, so
/// nothing here may be used for an authorization decision.
struct JWTClaims: Sendable, Equatable {
    /// Unix seconds, floored.
    let exp: Int?
    let iat: Int?
    /// `aud` as a list: a single string becomes one element (Logto and Glewlwyd send one string).
    let audiences: [String]
    let scope: String?
    let subject: String?

    /// nil for anything that is not a three-segment JWS whose payload is a JSON object:
    /// opaque tokens, JWE (five segments), garbage.
    static func decode(_ token: String) -> JWTClaims? {
        let segments = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count == 3, !segments[0].isEmpty, !segments[1].isEmpty,
            let payload = Base64.decodeURL(String(decoding: segments[1], as: UTF8.self)),
            let document = try? JSONParser.parse(payload),
            let claims = document.objectValue
        else { return nil }

        let audiences: [String] =
            switch claims["aud"] {
            case .string(let audience)?: [audience]
            case .array(let elements)?: elements.compactMap(\.stringValue)
            default: []
            }
        return JWTClaims(
            exp: seconds(claims["exp"]), iat: seconds(claims["iat"]), audiences: audiences,
            scope: claims["scope"]?.stringValue, subject: claims["sub"]?.stringValue)
    }

    /// A NumericDate (RFC 7519 §2) floored to whole seconds; out-of-range values are dropped
    /// rather than trapping on conversion.
    private static func seconds(_ value: JSONValue?) -> Int? {
        guard let number = value?.numberValue else { return nil }
        let floored = number.rounded(.down)
        guard floored >= -1.0e15, floored <= 1.0e15 else { return nil }
        return Int(floored)
    }
}
