/// TLS on a `UVStream`: set up before `connect` (client) or right after `accept` (server);
/// from then on the owner's `onRead`/`write` carry plaintext (`TLSSession`).
extension UVStream {
    /// Client TLS: the handshake runs after the TCP connect, and `onConnect` is called after it
    /// (with `UVError.eproto` and `tlsFailure` set when it fails). `serverName` is sent as SNI
    /// (host names only) and verified against the certificate (names or IP addresses).
    func enableClientTLS(_ context: TLSContext, serverName: String, resume: TLSResumption?) -> Bool {
        tls = TLSSession(stream: self, context: context, loop: io.tls, serverName: serverName, resume: resume)
        return tls != nil
    }

    /// Server TLS for an accepted connection: the handshake runs as the owner starts reading.
    func enableServerTLS(_ context: TLSContext) -> Bool {
        tls = TLSSession(stream: self, context: context, loop: io.tls, serverName: nil, resume: nil)
        return tls != nil
    }

    var isTLS: Bool { tls != nil }

    /// Why TLS failed on this stream (handshake, verification, alert), or nil.
    var tlsFailure: String? { tls?.failure }

    /// Whether the last handshake resumed a session (for tests and logs).
    var tlsSessionReused: Bool { tls?.sessionReused ?? false }

    // MARK: called by TLSSession

    func tlsHandshakeDone() { onConnect(nil) }

    func tlsFailed() {
        guard let tls else { return }
        if tls.isServer {
            handleReadEnd(UVError.eproto.code)
        } else {
            setSocketReading(false)
            onConnect(.eproto)
        }
    }

    func tlsDeliver(_ plain: UnsafeRawBufferPointer) { onRead(plain) }

    func tlsReadEnded(_ error: UVError) { handleReadEnd(error.code) }
}
