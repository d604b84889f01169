extension ConfigLoader {
    /// The `tls_*` keys of a route or a credential. `https`: the URL's scheme is https (nil when
    /// the URL itself is bad); `target` names it in warnings ("an http upstream").
    ///
    /// Files are read and loaded exactly as a worker will (`TLSContext.client`), so a missing,
    /// unreadable or malformed file is a config error at load and in `check`, not a 502 later.
    static func decodeClientTLS(_ reader: TableReader, https: Bool?, target: String) -> (settings: TLSClientSettings, failed: Bool) {
        let diagnostics = reader.diagnostics
        var failed = false
        let caFile = reader.nonEmptyString("tls_ca_file")
        let certFile = reader.nonEmptyString("tls_cert_file")
        let keyFile = reader.nonEmptyString("tls_key_file")
        var insecure = false
        if reader.contains("tls_insecure_skip_verify") {
            if let v = reader.bool("tls_insecure_skip_verify") { insecure = v } else { failed = true }
        }
        // Present but wrong (already reported): nothing else to say about them.
        for (key, value) in [("tls_ca_file", caFile), ("tls_cert_file", certFile), ("tls_key_file", keyFile)]
        where value == nil && reader.table.contains(key: key) {
            failed = true
        }
        if (certFile == nil) != (keyFile == nil), !failed {
            let missing = certFile == nil ? "tls_cert_file" : "tls_key_file"
            let present = certFile == nil ? "tls_key_file" : "tls_cert_file"
            diagnostics.error(reader.path(missing), "is required with \(present) (a client certificate needs both)")
            failed = true
        }
        let settings = TLSClientSettings(caFile: caFile, certFile: certFile, keyFile: keyFile, insecureSkipVerify: insecure)
        if https == false {
            for key in ["tls_ca_file", "tls_cert_file", "tls_key_file", "tls_insecure_skip_verify"] where reader.table.contains(key: key) {
                diagnostics.warning(reader.path(key), "has no effect for \(target)")
            }
            return (settings, failed)
        }
        if insecure {
            diagnostics.warning(
                reader.path("tls_insecure_skip_verify"),
                "certificates and host names are not verified: anyone on the network path can read and change this traffic")
            if caFile != nil {
                diagnostics.warning(reader.path("tls_ca_file"), "has no effect with tls_insecure_skip_verify = true")
            }
        }
        guard !failed, https == true else { return (settings, failed) }
        if !checkReadable(reader, ["tls_ca_file": caFile, "tls_cert_file": certFile, "tls_key_file": keyFile]) {
            return (settings, true)
        }
        if case .failure(let e) = TLSContext.client(settings) {
            diagnostics.error(reader.path(keyName(e.subject, fallback: "tls_ca_file")), e.message)
            failed = true
        }
        return (settings, failed)
    }

    /// `[server] tls_cert_file` / `tls_key_file`, loaded as the listener will.
    static func checkServerTLS(_ reader: TableReader, _ s: TLSServerSettings) -> Bool {
        guard checkReadable(reader, ["tls_cert_file": s.certFile, "tls_key_file": s.keyFile]) else { return false }
        if case .failure(let e) = TLSContext.server(s) {
            reader.diagnostics.error(reader.path(keyName(e.subject, fallback: "tls_cert_file")), e.message)
            return false
        }
        return true
    }

    /// Each named file can be opened: the OS reason otherwise (OpenSSL's is vaguer).
    private static func checkReadable(_ reader: TableReader, _ files: [String: String?]) -> Bool {
        var ok = true
        for key in files.keys.sorted() {
            guard let path = files[key] ?? nil else { continue }
            if case .failure(let error) = ConfigFileReader.readAll(path: path, maxBytes: ConfigFileReader.maxConfigBytes) {
                reader.diagnostics.error(reader.path(key), "cannot read '\(path)': \(error.message)")
                ok = false
            }
        }
        return ok
    }

    private static func keyName(_ subject: TLSError.Subject, fallback: String) -> String {
        switch subject {
        case .caFile: "tls_ca_file"
        case .certFile: "tls_cert_file"
        case .keyFile: "tls_key_file"
        case .other: fallback
        }
    }
}
