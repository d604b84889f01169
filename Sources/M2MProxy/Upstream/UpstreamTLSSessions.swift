/// The TLS sessions an https pool resumes new connections with, and how its handshakes went.
///
/// A server sends tickets after each handshake (OpenSSL and nginx: two after a full one, one
/// after a resumption). Unused tickets are handed out newest first, one connection each, as
/// RFC 8446 (C.4) recommends and as servers with single-use tickets (stateful tickets, e.g.
/// OpenSSL's `SSL_OP_NO_TICKET`) need. When a burst has used them all, the newest one is
/// offered again: stateless tickets (the usual kind) resume any number of times, which is what
/// nginx's `proxy_ssl_session_reuse` does too. Only the very first connections, opened before
/// any ticket arrived, have nothing to offer.
struct UpstreamTLSSessions {
    /// Unused tickets kept; older ones are dropped first.
    static let capacity = 4

    /// Unused, oldest first.
    private var unused: [TLSResumption] = []
    /// The newest received, used or not.
    private var newest: TLSResumption?
    /// Handshakes completed by this pool's connections, full and resumed.
    private(set) var fullHandshakes: UInt64 = 0
    private(set) var resumedHandshakes: UInt64 = 0

    init() {
        unused.reserveCapacity(Self.capacity)
    }

    /// A session the upstream just gave one of the pool's connections.
    mutating func store(_ s: TLSResumption) {
        if unused.count == Self.capacity { unused.removeFirst() }
        unused.append(s)
        newest = s
    }

    /// The session a new connection offers: the newest unused one, else the newest.
    mutating func take() -> TLSResumption? {
        unused.popLast() ?? newest
    }

    /// A new endpoint of the same URL starts with `other`'s tickets (not its counts): the
    /// addresses of one name are usually one service, and a ticket a server cannot use costs
    /// only the full handshake it would have made anyway. Without it, the first DNS answer
    /// (which replaces the name's provisional endpoint) would cost a full handshake per
    /// connection again.
    mutating func adoptTickets(of other: UpstreamTLSSessions) {
        unused = other.unused
        newest = other.newest
    }

    /// Sessions made under other TLS settings or trust (a reload rebuilt the context) must not
    /// be resumed: resumption skips the certificate check the new settings would make.
    mutating func forget() {
        unused.removeAll(keepingCapacity: true)
        newest = nil
    }

    mutating func countHandshake(resumed: Bool) {
        if resumed { resumedHandshakes &+= 1 } else { fullHandshakes &+= 1 }
    }
}
