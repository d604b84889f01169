/// How the proxy speaks TLS to one upstream or token endpoint (`tls_*` keys of a route or a
/// credential). Also the identity of a client TLS context: equal settings share one `SSL_CTX`,
/// and upstream pools key on them (two routes to one host with different CA files must not
/// share connections).
public struct TLSClientSettings: Sendable, Hashable {
    /// PEM bundle trusted in addition to the system store (`tls_ca_file`).
    public let caFile: String?
    /// Client certificate chain and key for mTLS (`tls_cert_file`, `tls_key_file`): both or neither.
    public let certFile: String?
    public let keyFile: String?
    /// `tls_insecure_skip_verify = true`: no certificate or host name check at all.
    public let insecureSkipVerify: Bool

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecureSkipVerify = insecureSkipVerify
    }

    public static let standard = TLSClientSettings()
}

/// The inbound TLS listener's certificate (`[server] tls_cert_file`, `tls_key_file`).
public struct TLSServerSettings: Sendable, Equatable {
    public let certFile: String
    public let keyFile: String

    public init(certFile: String, keyFile: String) {
        self.certFile = certFile
        self.keyFile = keyFile
    }
}
