/// The token cache key (DESIGN.md §5): routes with equal keys share one token.
///
/// `secretHash` makes a reloaded credential with a rotated secret a different key, so a token
/// minted with the old secret is never served after the rotation. It fingerprints the client id
/// and token URL as well as the secret: a token from another client or another issuer is just
/// as wrong. It is a truncated SHA-256, never printed.
struct TokenKey: Hashable, Sendable, CustomStringConvertible {
    let credentialName: String
    let resource: String?
    /// Sorted, without duplicates or empty strings.
    let scopes: [String]
    let organizationID: String?
    /// The first 16 bytes of SHA-256 over client id, token URL and secret.
    let secretHash: [UInt8]

    init(credential: CredentialConfig, resource: String?, scopes: [String], organizationID: String?) {
        self.credentialName = credential.name
        self.resource = resource
        self.scopes = Array(Set(scopes.filter { !$0.isEmpty })).sorted()
        self.organizationID = organizationID
        self.secretHash = Self.fingerprint(credential)
    }

    /// The `scope` request parameter before form encoding: scopes joined by single spaces, or
    /// nil when there are none (the parameter is then omitted).
    var scopeParameter: String? {
        scopes.isEmpty ? nil : scopes.joined(separator: " ")
    }

    /// For logs: names the key without anything secret.
    var description: String {
        var text = "credential=\(credentialName)"
        if let resource { text += " resource=\(resource)" }
        if let scopeParameter { text += " scope=\"\(scopeParameter)\"" }
        if let organizationID { text += " organization_id=\(organizationID)" }
        return text
    }

    /// Each field is length-prefixed so that no two different field tuples hash the same input.
    private static func fingerprint(_ credential: CredentialConfig) -> [UInt8] {
        let url = credential.tokenURL
        let fields = [
            credential.clientID, url.scheme.rawValue, url.authority, url.path, credential.clientSecret.value,
        ]
        var input: [UInt8] = []
        for field in fields {
            let bytes = Array(field.utf8)
            let count = UInt32(truncatingIfNeeded: bytes.count)
            input.append(contentsOf: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: count >> $0) })
            input.append(contentsOf: bytes)
        }
        return Array(SHA256.hash(input).prefix(16))
    }
}
