import Testing
@testable import M2MProxy

extension Auth {
    @Suite struct TokenKeyTests {
        @Test func scopesAreSortedAndDeduplicated() {
            let key = TokenKey(credential: credential(), resource: nil, scopes: ["write", "read", "write", ""], organizationID: nil)
            #expect(key.scopes == ["read", "write"])
            #expect(key.scopeParameter == "read write")
        }

        @Test func noScopesNoParameter() {
            #expect(TokenKey(credential: credential(), resource: nil, scopes: [], organizationID: nil).scopeParameter == nil)
        }

        @Test func sameScopesDifferentOrderAreEqual() {
            let a = TokenKey(credential: credential(), resource: "https://api", scopes: ["b", "a"], organizationID: "o1")
            let b = TokenKey(credential: credential(), resource: "https://api", scopes: ["a", "b", "a"], organizationID: "o1")
            #expect(a == b)
            #expect(a.hashValue == b.hashValue)
            #expect(Set([a, b]).count == 1)
        }

        @Test func differentPartsAreDifferentKeys() {
            let base = TokenKey(credential: credential(), resource: "https://api", scopes: ["a"], organizationID: nil)
            #expect(base != TokenKey(credential: credential(secret: "rotated"), resource: "https://api", scopes: ["a"], organizationID: nil))
            #expect(base != TokenKey(credential: credential(name: "other"), resource: "https://api", scopes: ["a"], organizationID: nil))
            #expect(base != TokenKey(credential: credential(clientID: "other"), resource: "https://api", scopes: ["a"], organizationID: nil))
            #expect(base != TokenKey(credential: credential(), resource: "https://api/", scopes: ["a"], organizationID: nil))
            #expect(base != TokenKey(credential: credential(), resource: nil, scopes: ["a"], organizationID: nil))
            #expect(base != TokenKey(credential: credential(), resource: "https://api", scopes: ["a", "b"], organizationID: nil))
            #expect(base != TokenKey(credential: credential(), resource: "https://api", scopes: ["a"], organizationID: "o"))
        }

        @Test func authMethodDoesNotChangeTheKey() {
            let basic = TokenKey(credential: credential(method: .clientSecretBasic), resource: nil, scopes: [], organizationID: nil)
            let post = TokenKey(credential: credential(method: .clientSecretPost), resource: nil, scopes: [], organizationID: nil)
            #expect(basic == post)
        }

        @Test func secretHashIsTruncatedAndStable() {
            let key = TokenKey(credential: credential(), resource: nil, scopes: [], organizationID: nil)
            #expect(key.secretHash.count == 16)
            #expect(key.secretHash == TokenKey(credential: credential(), resource: "r", scopes: ["x"], organizationID: nil).secretHash)
        }

        @Test func descriptionHasNoSecret() {
            let key = TokenKey(
                credential: credential(secret: "hunter2"), resource: "https://shopping.api",
                scopes: ["write:products", "read:products"], organizationID: "org1")
            #expect(key.description
                == #"credential=logto resource=https://shopping.api scope="read:products write:products" organization_id=org1"#)
            #expect(!"\(key)".contains("hunter2"))
            #expect(TokenKey(credential: credential(), resource: nil, scopes: [], organizationID: nil).description == "credential=logto")
        }
    }
}
