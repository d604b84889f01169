/// The request side of an upstream exchange (Proxy's client connection): what an
/// `UpstreamConnection` tells it. A base class with overridable hooks, like `UVStream`'s, not a
/// protocol: the per-read calls (`upstreamData`, `upstreamWriteDrained`) stay vtable calls on
/// a borrowed reference, with no existential box and no retain/release (STYLE.md §1: Upstream
/// calls back through this and names nothing of Proxy).
class UpstreamClient: UVStream {
    /// Connected (and TLS done): the request head can be sent.
    func upstreamReady(_ c: UpstreamConnection) {}
    /// While `pending` connects, the pool offers `c`, a connection that just finished an
    /// exchange: true when the request took it (it no longer refers to `pending`).
    func upstreamReplaced(_ pending: UpstreamConnection, by c: UpstreamConnection) -> Bool { false }
    /// The endpoint chose HTTP/1.1 in ALPN while `c` waited for its HTTP/2 connection: true
    /// when the request may go over HTTP/1.1 (`c` then connects on its own), false when the
    /// client refused that (gRPC needs HTTP/2) and gave `c` up.
    func upstreamFellBackToHTTP1(_ c: UpstreamConnection) -> Bool { true }
    /// Resolving, connecting or the TLS handshake failed; `c.failureKind` says how.
    func upstreamFailed(_ c: UpstreamConnection, _ message: String) {}
    /// The exchange's timer expired: response_timeout_ms (no response head yet) or
    /// read_timeout_ms (between body reads); the client knows which phase it is in.
    func upstreamTimedOut(_ c: UpstreamConnection) {}
    /// Response bytes, borrowed for the call.
    func upstreamData(_ c: UpstreamConnection, _ data: UnsafeRawBufferPointer) {}
    /// EOF or a read error during the exchange.
    func upstreamEnded(_ c: UpstreamConnection, _ error: UVError) {}
    func upstreamWriteFailed(_ c: UpstreamConnection, _ error: UVError) {}
    /// A write to the upstream completed (backpressure: the client may be read again).
    func upstreamWriteDrained(_ c: UpstreamConnection) {}
}
