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
    /// ALPN offers `h2` before `http/1.1` (an https route with `http2 = true`).
    public let offersHTTP2: Bool

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false, offersHTTP2: Bool = false) {
        self.offersHTTP2 = offersHTTP2
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecureSkipVerify = insecureSkipVerify
    }

    public static let standard = TLSClientSettings()

    /// The same settings, offering h2 in ALPN or not.
    func offering(http2: Bool) -> TLSClientSettings {
        TLSClientSettings(caFile: caFile, certFile: certFile, keyFile: keyFile, insecureSkipVerify: insecureSkipVerify, offersHTTP2: http2)
    }
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
