/// Builds the complete HTTP/1.1 request for the client_credentials grant (RFC 6749 §4.4), as
/// Logto documents it.
///
/// The exact bytes are unit-tested: Envoy once shipped a shadowed variable that silently
/// dropped `scope` (envoyproxy/envoy#38130), which only a byte-level test catches.
enum TokenRequestBuilder {
    static func build(credential: CredentialConfig, key: TokenKey) -> [UInt8] {
        var parameters: [(name: String, value: String)] = [("grant_type", "client_credentials")]
        var authorization: String?
        switch credential.authMethod {
        case .clientSecretBasic:
            // RFC 6749 §2.3.1: id and secret are form-encoded before base64, so a secret
            // containing ':' '+' '%' or a space survives the server's decoding.
            let pair = FormEncoding.encode(credential.clientID) + ":"
                + FormEncoding.encode(credential.clientSecret.value)
            authorization = "Basic " + Base64.encode(Array(pair.utf8))
        case .clientSecretPost:
            parameters.append(("client_id", credential.clientID))
            parameters.append(("client_secret", credential.clientSecret.value))
        }
        if let resource = key.resource { parameters.append(("resource", resource)) }
        if let scope = key.scopeParameter { parameters.append(("scope", scope)) }
        if let organizationID = key.organizationID { parameters.append(("organization_id", organizationID)) }

        let body = Array(FormEncoding.encode(parameters).utf8)
        var head = "POST \(credential.tokenURL.path) HTTP/1.1\r\n"
        head += "Host: \(credential.tokenURL.authority)\r\n"
        if let authorization { head += "Authorization: \(authorization)\r\n" }
        head += "Content-Type: application/x-www-form-urlencoded\r\n"
        head += "Accept: application/json\r\n"
        head += "User-Agent: m2m-proxy\r\n"
        head += "Content-Length: \(body.count)\r\n"
        head += "Connection: close\r\n"
        head += "\r\n"
        return Array(head.utf8) + body
    }
}
