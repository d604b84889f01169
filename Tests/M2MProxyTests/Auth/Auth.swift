import Testing
@testable import M2MProxy

/// Namespace for the Auth/ unit tests, so that `swift test --filter M2MProxyTests.Auth` selects
/// exactly them (test ids read `M2MProxyTests.Auth/<Suite>/<test>`).
@Suite enum Auth {
    static func credential(
        name: String = "logto", clientID: String = "m2m-client", secret: String = "s3cret",
        method: ClientAuthMethod = .clientSecretBasic,
        tokenURL: EndpointURL = EndpointURL(
            scheme: .http, host: "127.0.0.1", port: 3001, path: "/oidc/token", authority: "127.0.0.1:3001")
    ) -> CredentialConfig {
        CredentialConfig(
            name: name, tokenURL: tokenURL, clientID: clientID, clientSecret: Secret(secret),
            authMethod: method, prefetch: false, tlsCAFile: nil)
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
