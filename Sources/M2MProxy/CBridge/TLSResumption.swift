internal import COpenSSL

/// A client session to resume (`SSL_SESSION`): a private copy that no `SSL` ever holds.
///
/// OpenSSL 3 marks the session an `SSL` holds as not resumable when that connection resumed
/// with it under TLS 1.3 (client tickets are single use: `tls_finish_handshake` removes it from
/// the client cache) and when the connection is freed without a close_notify sent
/// (`ssl_clear_bad_session`). Shared by reference, one upstream connection finishing its
/// resumed handshake, or dying, made the pool's session useless to every connection opened
/// after it until the next ticket arrived: under concurrency a third of the new connections
/// did full handshakes. So the pool keeps a copy, and each connection gets a copy of that
/// (`SSL_SESSION_dup`: a struct, the ticket bytes and certificate references, far cheaper
/// than the certificate verification a full handshake costs).
final class TLSResumption {
    private let session: OpaquePointer

    /// A copy of `s` (as the new-session callback hands it over); nil when out of memory.
    init?(copying s: OpaquePointer) {
        guard let copy = SSL_SESSION_dup(s) else { return nil }
        session = copy
    }

    deinit { SSL_SESSION_free(session) }

    /// A copy for one connection's `SSL_set_session`: the caller frees it after handing it over.
    func copy() -> OpaquePointer? { SSL_SESSION_dup(session) }
}

@available(*, unavailable)
extension TLSResumption: Sendable {}
