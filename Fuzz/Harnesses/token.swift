// libFuzzer target: everything the token fetcher reads from a token endpoint's answer.
// Invariants: no crash; a parsed token is non-empty visible ASCII; a lifetime is >= 1 and
// clamped; sanitized OAuth error strings are printable ASCII of at most 200 bytes; Retry-After
// is nil or within 0...maxSeconds.
@testable import M2MProxy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzToken(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    if case .success(let r) = TokenResponse.parse(bytes) {
        let token = r.accessToken.value
        check(!token.isEmpty && token.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }, "token not visible ASCII")
        if let e = r.expiresIn { check(e >= 1 && e <= TokenResponse.maxExpiresIn, "expires_in out of range") }
        check(r.tokenType.lowercased() == "bearer", "token_type not bearer")
        // Tokens are JWTs in practice: the cache decodes the claims of what the parser accepted.
        _ = JWTClaims.decode(token)
    }

    if let e = OAuthErrorBody.parse(bytes) {
        check(!e.code.isEmpty && printable(e.code), "error code not sanitized")
        if let d = e.description { check(!d.isEmpty && printable(d), "description not sanitized") }
    }

    // The same bytes as a token (any string, not only what TokenResponse lets through) and as a
    // Retry-After header value; `now` from the first bytes covers dates on both sides of it.
    let text = String(decoding: bytes, as: UTF8.self)
    if let claims = JWTClaims.decode(text) {
        if let exp = claims.exp { check(abs(exp) <= 1_000_000_000_000_000, "exp out of range") }
    }
    var now = 0
    for b in bytes.prefix(4) { now = now << 8 | Int(b) }
    for n in [now, 0, 1_700_000_000] {
        if let s = RetryAfter.parse(text, now: n) { check(s >= 0 && s <= RetryAfter.maxSeconds, "retry-after out of range") }
    }
    return 0
}

private func printable(_ s: String) -> Bool {
    s.utf8.count <= OAuthErrorBody.maxLength && s.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
}

private func check(_ ok: Bool, _ what: StaticString) {
    if !ok { fatalError("invariant: \(what)") }
}
