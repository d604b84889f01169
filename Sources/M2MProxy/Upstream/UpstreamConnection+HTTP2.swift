/// An upstream connection whose exchange is a stream of the endpoint's HTTP/2 connection
/// (`H2UpstreamSession`): instead of a socket it gets one end of an in-process pair, and from
/// then on it is an ordinary HTTP/1.1 connection.
extension UpstreamConnection {
    /// The session is up and made the pair: `fd` is this side. Proceeds as a connect would.
    func bridged(fd: Int32) {
        guard !isClosing, state == .resolving || state == .connecting else {
            UVStream.discard(fd: fd)
            return
        }
        guard adopt(fd: fd) else {
            fail("cannot open an HTTP/2 stream pair", kind: .connectFailed)
            return
        }
        state = .active
        stopTimer()
        beginExchange()
        client?.upstreamReady(self)
    }

    /// The HTTP/2 connection could not be made (refused, timed out, TLS): this request's
    /// connect failed the same way.
    func bridgeFailed(_ message: String, kind: UpstreamErrorKind) {
        guard !isClosing, state == .resolving || state == .connecting else { return }
        fail(message, kind: kind)
    }

    /// The server did not agree to h2 in ALPN: this connection connects on its own, HTTP/1.1,
    /// unless its request needs HTTP/2 (the client then answers it and abandons this one).
    func bridgeFellBack() {
        guard !isClosing, state == .resolving || state == .connecting else { return }
        if let client, !client.upstreamFellBackToHTTP1(self) { return }
        state = .resolving
        resolveAndConnect()
    }
}
