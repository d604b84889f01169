internal import COpenSSL
private import Glibc

/// The protocol a server-side TLS handshake agreed in ALPN (the listener offers `h2` and
/// `http/1.1`, `TLSContext.server`).
extension UVStream {
    /// Whether the client and the TLS listener agreed `h2`: the connection speaks HTTP/2 from
    /// its first byte (RFC 9113 §3.2). False without TLS, before the handshake, or without ALPN.
    var tlsAgreedH2: Bool {
        guard let tls, tls.isServer, tls.isEstablished else { return false }
        var p: UnsafePointer<UInt8>?
        var n: UInt32 = 0
        SSL_get0_alpn_selected(tls.ssl, &p, &n)
        guard n == 2, let p else { return false }
        return p[0] == UInt8(ascii: "h") && p[1] == UInt8(ascii: "2")
    }
}
