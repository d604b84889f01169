private import COpenSSL

/// The token store's cryptography (DESIGN.md §5 "Across replicas"), on OpenSSL: HKDF-SHA256
/// (RFC 5869) from the credential's secret, AES-256-GCM for stored values, HMAC-SHA256 for store
/// key names. Someone who can read the store but lacks the client secret learns neither a token
/// nor a cache key.
enum StoreCipher {
    static let nonceBytes = 12
    static let tagBytes = 16
    /// The first byte of every sealed value: a later format gets a new one.
    static let version: UInt8 = 1

    static func hmacSHA256(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 32
        key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count, &out, &len)
            }
        }
        return out
    }

    /// HKDF-SHA256 with one output block (32 bytes): extract with `salt`, expand with `info`.
    static func hkdf(secret: [UInt8], salt: [UInt8], info: [UInt8]) -> [UInt8] {
        let prk = hmacSHA256(key: salt, secret)
        return hmacSHA256(key: prk, info + [1])
    }

    static func randomBytes(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        _ = out.withUnsafeMutableBytes { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(n)) }
        return out
    }

    /// version ‖ nonce ‖ ciphertext ‖ tag; `aad` is bound to it (the store key it lives under,
    /// so a value copied to another key does not open).
    static func seal(key: [UInt8], plaintext: [UInt8], aad: [UInt8]) -> [UInt8]? {
        seal(key: key, nonce: randomBytes(nonceBytes), plaintext: plaintext, aad: aad)
    }

    static func seal(key: [UInt8], nonce: [UInt8], plaintext: [UInt8], aad: [UInt8]) -> [UInt8]? {
        guard key.count == 32, nonce.count == nonceBytes, let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: 1 + nonceBytes + plaintext.count + tagBytes)
        out[0] = version
        out.replaceSubrange(1...nonceBytes, with: nonce)
        var len: Int32 = 0
        let ok: Bool = out.withUnsafeMutableBufferPointer { o in
            guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { return false }
            if !aad.isEmpty, EVP_EncryptUpdate(ctx, nil, &len, aad, Int32(aad.count)) != 1 { return false }
            let body = o.baseAddress! + 1 + nonceBytes
            if !plaintext.isEmpty, EVP_EncryptUpdate(ctx, body, &len, plaintext, Int32(plaintext.count)) != 1 { return false }
            guard EVP_EncryptFinal_ex(ctx, body + plaintext.count, &len) == 1 else { return false }
            let tag = body + plaintext.count
            return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagBytes), tag) == 1
        }
        return ok ? out : nil
    }

    /// The plaintext, or nil when the value is malformed, tampered with, or sealed under
    /// another key or `aad`.
    static func open(key: [UInt8], sealed: [UInt8], aad: [UInt8]) -> [UInt8]? {
        guard key.count == 32, sealed.count >= 1 + nonceBytes + tagBytes, sealed[0] == version,
              let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let n = sealed.count - 1 - nonceBytes - tagBytes
        let nonce = Array(sealed[1...nonceBytes])
        var tag = Array(sealed[(sealed.count - tagBytes)...])
        let body = Array(sealed[(1 + nonceBytes)..<(sealed.count - tagBytes)])
        var out = [UInt8](repeating: 0, count: n + 16)
        var len: Int32 = 0
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { return nil }
        if !aad.isEmpty, EVP_DecryptUpdate(ctx, nil, &len, aad, Int32(aad.count)) != 1 { return nil }
        if n > 0, EVP_DecryptUpdate(ctx, &out, &len, body, Int32(n)) != 1 { return nil }
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagBytes), &tag) == 1 else { return nil }
        var fin: Int32 = 0
        let ok = out.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(ctx, $0.baseAddress! + n, &fin) }
        guard ok == 1 else { return nil }
        return Array(out.prefix(n))
    }
}
