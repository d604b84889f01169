internal import COpenSSL
private import Glibc

/// The protocol a TLS handshake agreed in ALPN: the listener offers `h2` and `http/1.1`
/// (`TLSContext.server`); `http2 = true` upstream clients offer the same (`TLSContext.client`).
extension UVStream {
    /// Whether the client and the TLS listener agreed `h2`: the connection speaks HTTP/2 from
    /// its first byte (RFC 9113 §3.2). False without TLS, before the handshake, or without ALPN.
    var tlsAgreedH2: Bool {
        guard let tls, tls.isServer, tls.isEstablished else { return false }
        return Self.selectedH2(tls.ssl)
    }

    /// An upstream server selected `h2` (`http2 = true` routes).
    var tlsNegotiatedH2: Bool {
        guard let ssl = tls?.ssl else { return false }
        return Self.selectedH2(ssl)
    }

    private static func selectedH2(_ ssl: OpaquePointer?) -> Bool {
        var p: UnsafePointer<UInt8>?
        var n: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &p, &n)
        guard n == 2, let p else { return false }
        return p[0] == UInt8(ascii: "h") && p[1] == UInt8(ascii: "2")
    }
}
