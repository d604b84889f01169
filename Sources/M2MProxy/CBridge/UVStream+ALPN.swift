internal import COpenSSL

/// The protocol ALPN agreed on a TLS stream (`http2 = true` upstreams).
extension UVStream {
    /// The server selected `h2`.
    var tlsNegotiatedH2: Bool {
        guard let ssl = tls?.ssl else { return false }
        var p: UnsafePointer<UInt8>?
        var n: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &p, &n)
        return n == 2 && p![0] == UInt8(ascii: "h") && p![1] == UInt8(ascii: "2")
    }
}
