import Testing
@testable import M2MProxy

extension Auth {
    /// What the shared store holds for a key: names that reveal nothing, values only the
    /// secret's holder opens, equal material in every replica with the same settings.
    @Suite struct StoreKeyMaterialTests {
        private static func material(secret: String = "s3cret", scopes: [String] = ["read"], prefix: String = "p:") -> StoreKeyMaterial {
            let c = Auth.credential(secret: secret)
            let key = TokenKey(credential: c, resource: "https://api.example", scopes: scopes, organizationID: nil)
            return StoreKeyMaterial(credential: c, key: key, prefix: prefix)
        }

        private static let token = StoredToken(accessToken: Secret("eyJ.header.sig"), lifetimeSeconds: 3600, expiresAtMs: 1_900_000_000_123)

        @Test func replicasDeriveTheSameNamesAndOpenEachOthersValues() throws {
            let a = Self.material(), b = Self.material()
            #expect(a.tokenKey == b.tokenKey && a.lockKey == b.lockKey)
            #expect(a.tokenKey == "p:token:" + a.hash && a.hash.count == 32)
            let sealed = try #require(a.seal(Self.token))
            #expect(b.open(sealed) == Self.token)
            #expect(a.fingerprint(Self.token.accessToken) == b.fingerprint(Self.token.accessToken))
        }

        @Test func namesRevealNoCacheKeyAndValuesNoToken() throws {
            let m = Self.material()
            for text in ["api.example", "read", "m2m-client", "s3cret", "logto"] {
                #expect(!m.tokenKey.contains(text) && !m.lockKey.contains(text))
            }
            let sealed = try #require(m.seal(Self.token))
            #expect(!String(decoding: sealed, as: UTF8.self).contains("eyJ"))
            #expect(!m.fingerprint(Self.token.accessToken).contains("eyJ"))
        }

        @Test func anotherSecretOrKeyCannotOpen() throws {
            let sealed = try #require(Self.material().seal(Self.token))
            // A rotated secret is another key altogether, and cannot open the old value.
            let rotated = Self.material(secret: "rotated")
            #expect(rotated.hash != Self.material().hash)
            #expect(rotated.open(sealed) == nil)
            // Another scope set: another name, and the value is bound to its own name.
            let other = Self.material(scopes: ["write"])
            #expect(other.hash != Self.material().hash)
            #expect(other.open(sealed) == nil)
        }
    }
}
