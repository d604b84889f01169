import Testing
@testable import M2MProxy

extension Auth {
    @Suite struct TokenRequestBuilderTests {
        private func request(_ credential: CredentialConfig, resource: String? = nil, scopes: [String] = [], org: String? = nil) -> String {
            let key = TokenKey(credential: credential, resource: resource, scopes: scopes, organizationID: org)
            return String(decoding: TokenRequestBuilder.build(credential: credential, key: key), as: UTF8.self)
        }

        private func expected(authorization: String?, body: String, host: String = "127.0.0.1:3001", path: String = "/oidc/token") -> String {
            "POST \(path) HTTP/1.1\r\n"
                + "Host: \(host)\r\n"
                + (authorization.map { "Authorization: \($0)\r\n" } ?? "")
                + "Content-Type: application/x-www-form-urlencoded\r\n"
                + "Accept: application/json\r\n"
                + "User-Agent: m2m-proxy\r\n"
                + "Content-Length: \(body.utf8.count)\r\n"
                + "Connection: close\r\n"
                + "\r\n"
                + body
        }

        @Test func basicMinimal() {
            #expect(request(credential()) == expected(
                authorization: "Basic bTJtLWNsaWVudDpzM2NyZXQ=", body: "grant_type=client_credentials"))
        }

        @Test func basicWithEverything() {
            let body = "grant_type=client_credentials&resource=https%3A%2F%2Fshopping.api"
                + "&scope=read%3Aproducts%20write%3Aproducts&organization_id=org%201"
            #expect(request(credential(), resource: "https://shopping.api",
                scopes: ["write:products", "read:products", "write:products"], org: "org 1")
                == expected(authorization: "Basic bTJtLWNsaWVudDpzM2NyZXQ=", body: body))
        }

        @Test func basicFormEncodesSecretBeforeBase64() {
            // base64("m2m-client:a%2Bb%25c%3Ad%20e"), RFC 6749 §2.3.1.
            #expect(request(credential(secret: "a+b%c:d e")) == expected(
                authorization: "Basic bTJtLWNsaWVudDphJTJCYiUyNWMlM0FkJTIwZQ==", body: "grant_type=client_credentials"))
        }

        @Test func postMinimal() {
            #expect(request(credential(secret: "a+b%c:d e", method: .clientSecretPost)) == expected(
                authorization: nil,
                body: "grant_type=client_credentials&client_id=m2m-client&client_secret=a%2Bb%25c%3Ad%20e"))
        }

        @Test func postWithResourceAndScopes() {
            #expect(request(credential(method: .clientSecretPost), resource: "https://shopping.api", scopes: ["b", "a"])
                == expected(authorization: nil,
                    body: "grant_type=client_credentials&client_id=m2m-client&client_secret=s3cret"
                        + "&resource=https%3A%2F%2Fshopping.api&scope=a%20b"))
        }

        @Test func organizationOnly() {
            #expect(request(credential(method: .clientSecretPost), org: "abc123") == expected(authorization: nil,
                body: "grant_type=client_credentials&client_id=m2m-client&client_secret=s3cret&organization_id=abc123"))
        }

        @Test func scopeOnlyIsNeverDropped() {
            #expect(request(credential(), scopes: ["read:products"])
                == expected(authorization: "Basic bTJtLWNsaWVudDpzM2NyZXQ=",
                    body: "grant_type=client_credentials&scope=read%3Aproducts"))
        }

        @Test func usesTokenURLAuthorityAndPath() {
            let url = EndpointURL(scheme: .https, host: "tenant.logto.app", port: 443, path: "/oidc/token", authority: "tenant.logto.app")
            #expect(request(credential(tokenURL: url)) == expected(
                authorization: "Basic bTJtLWNsaWVudDpzM2NyZXQ=", body: "grant_type=client_credentials",
                host: "tenant.logto.app"))
        }

        @Test func contentLengthCountsBytes() {
            let text = request(credential(method: .clientSecretPost), scopes: ["é"])
            let body = "grant_type=client_credentials&client_id=m2m-client&client_secret=s3cret&scope=%C3%A9"
            #expect(text.contains("Content-Length: \(body.utf8.count)\r\n"))
            #expect(text.hasSuffix("\r\n\r\n" + body))
        }
    }
}
