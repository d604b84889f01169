/// The names and keys one cache key uses in the shared store (DESIGN.md §5 "Across replicas"),
/// all derived with HKDF-SHA256 from the credential's client secret and the cache key:
/// - the store key `<prefix>token:<hash>` and lock `<prefix>lock:<hash>`, where `hash` is an HMAC
///   of the cache key: without the secret it cannot be linked to a resource or scope;
/// - the AES-256-GCM key of the stored value (`StoreCipher`), bound to the store key as AAD;
/// - a token fingerprint (an HMAC of the token) naming a revoked token in pub/sub messages.
/// Replicas with the same credential and route settings derive the same material; nothing in
/// the store is a usable token, a secret or a cache key in clear.
struct StoreKeyMaterial {
    /// 32 hex digits.
    let hash: String
    let tokenKey: String
    let lockKey: String
    private let sealKey: [UInt8]
    private let fingerprintKey: [UInt8]

    static let salt = Array("m2m-proxy token store v1".utf8)

    init(credential: CredentialConfig, key: TokenKey, prefix: String) {
        // Length-prefixed fields, a marker byte telling nil from "": no two keys share an input.
        var info: [UInt8] = []
        func field(_ s: String?) {
            guard let s else {
                info.append(0)
                return
            }
            info.append(1)
            let b = Array(s.utf8)
            let n = UInt32(truncatingIfNeeded: b.count)
            info += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: n >> $0) }
            info += b
        }
        let url = credential.tokenURL
        field(credential.clientID)
        field(url.scheme.rawValue)
        field(url.authority)
        field(url.path)
        field(key.resource)
        field(key.scopeParameter)
        field(key.organizationID)
        let root = StoreCipher.hkdf(secret: Array(credential.clientSecret.value.utf8), salt: Self.salt, info: info)
        let name = StoreCipher.hmacSHA256(key: root, Array("store key name".utf8))
        hash = Self.hex(name.prefix(16))
        tokenKey = prefix + "token:" + hash
        lockKey = prefix + "lock:" + hash
        sealKey = StoreCipher.hmacSHA256(key: root, Array("aes-256-gcm value key".utf8))
        fingerprintKey = StoreCipher.hmacSHA256(key: root, Array("token fingerprint".utf8))
    }

    /// expiry (8 bytes, ms, big-endian) ‖ lifetime (4 bytes, s) ‖ token, sealed.
    func seal(_ t: StoredToken) -> [UInt8]? {
        var plain: [UInt8] = []
        plain += [56, 48, 40, 32, 24, 16, 8, 0].map { UInt8(truncatingIfNeeded: t.expiresAtMs >> $0) }
        plain += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: UInt32(clamping: t.lifetimeSeconds) >> $0) }
        plain += Array(t.accessToken.value.utf8)
        return StoreCipher.seal(key: sealKey, plaintext: plain, aad: Array(tokenKey.utf8))
    }

    /// nil: not sealed for this key (another secret, tampered, truncated, another format).
    func open(_ sealed: [UInt8]) -> StoredToken? {
        guard let p = StoreCipher.open(key: sealKey, sealed: sealed, aad: Array(tokenKey.utf8)), p.count > 12 else { return nil }
        var exp: Int64 = 0
        for i in 0..<8 { exp = exp << 8 | Int64(p[i]) }
        var life = 0
        for i in 8..<12 { life = life << 8 | Int(p[i]) }
        guard let token = String(validating: p[12...], as: UTF8.self), life > 0 else { return nil }
        return StoredToken(accessToken: Secret(token), lifetimeSeconds: life, expiresAtMs: exp)
    }

    /// Names a token in a revocation message without revealing it.
    func fingerprint(_ token: Secret) -> String {
        Self.hex(StoreCipher.hmacSHA256(key: fingerprintKey, Array(token.value.utf8)).prefix(16))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
