extension ConfigLoader {
    /// The `[credential.NAME]` sections as decoded: `names[i]` belongs to `configs[i]`, which is
    /// nil when that section has errors (routes can still refer to it without a second error).
    struct DecodedCredentials {
        var names: [String] = []
        var configs: [CredentialConfig?] = []
    }

    /// `[credential.NAME]` sections, sorted by name (by UTF-8 bytes).
    ///
    /// TOMLKit (toml++), the parser before `TOMLParser`, kept table keys in a sorted map, so
    /// credentials were always in name order; `TOMLTable` keeps file order, and sorting here keeps
    /// `credentialIndex`, the order of credential errors and of `unused` warnings as they were.
    static func decodeCredentials(_ reader: TableReader) -> DecodedCredentials {
        var decoded = DecodedCredentials()
        for name in TableReader.sortedKeys(reader.table) {
            guard let section = reader.table(name) else {
                decoded.names.append(name)
                decoded.configs.append(nil)
                continue
            }
            decoded.names.append(name)
            decoded.configs.append(decodeCredential(name: name, section))
        }
        return decoded
    }

    private static func decodeCredential(name: String, _ reader: TableReader) -> CredentialConfig? {
        let diagnostics = reader.diagnostics
        var failed = false
        if let problem = nameProblem(name) {
            diagnostics.error(reader.keyPath, "credential name \(problem)")
            failed = true
        }

        var tokenURL: EndpointURL?
        if let text = reader.nonEmptyString("token_url", required: true) {
            switch EndpointURLParser.parse(text, kind: .tokenEndpoint) {
            case .success(let url):
                tokenURL = url
            case .failure(let error):
                diagnostics.error(reader.path("token_url"), error.message)
            }
        }

        let clientID = inlineOrFile(reader, key: "client_id")
        let clientSecret = inlineOrFile(reader, key: "client_secret")

        var authMethod = ClientAuthMethod.clientSecretBasic
        if let text = reader.string("auth_method") {
            if let method = ClientAuthMethod(rawValue: text) {
                authMethod = method
            } else {
                diagnostics.error(reader.path("auth_method"), "must be client_secret_basic or client_secret_post")
                failed = true
            }
        } else if reader.contains("auth_method") {
            failed = true
        }

        let prefetch = reader.bool("prefetch") ?? false
        let tls = decodeClientTLS(reader, https: tokenURL.map { $0.scheme == .https }, target: "an http token_url")
        if tls.failed { failed = true }
        reader.reportUnknownKeys()

        guard !failed, let tokenURL, let clientID, let clientSecret else { return nil }
        return CredentialConfig(
            name: name, tokenURL: tokenURL, clientID: clientID, clientSecret: Secret(clientSecret),
            authMethod: authMethod, prefetch: prefetch, tlsCAFile: tls.settings.caFile, tls: tls.settings)
    }

    /// `KEY` or `KEY_file`, exactly one of them (or neither when not `required`), non-empty.
    ///
    /// The value may be a secret: messages only say what is wrong, never what was read.
    static func inlineOrFile(_ reader: TableReader, key: String, required: Bool = true) -> String? {
        let fileKey = key + "_file"
        let hasInline = reader.contains(key)
        let hasFile = reader.contains(fileKey)
        switch (hasInline, hasFile) {
        case (false, false):
            if required { reader.diagnostics.error(reader.path(key), "is required (or \(fileKey))") }
            return nil
        case (true, true):
            reader.diagnostics.error(reader.keyPath, "set only one of \(key) and \(fileKey)")
            return nil
        case (true, false):
            return reader.nonEmptyString(key)
        case (false, true):
            guard let path = reader.nonEmptyString(fileKey) else { return nil }
            switch ConfigFileReader.readSecretText(path: path) {
            case .success(let text):
                guard !text.isEmpty else {
                    reader.diagnostics.error(reader.path(fileKey), "file '\(path)' is empty")
                    return nil
                }
                return text
            case .failure(let error):
                reader.diagnostics.error(reader.path(fileKey), "cannot read '\(path)': \(error.message)")
                return nil
            }
        }
    }

    /// Names show up in logs, metrics labels and `?route=NAME`: keep them plain.
    /// Returns what is wrong, or nil.
    static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            return "must not contain spaces or control characters"
        }
        return nil
    }
}
