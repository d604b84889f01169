/// The request body of an HTTP/2 stream whose head went to its inner connection as values
/// (`H2StreamBridge`): DATA goes to that connection by direct calls, not through the pair
/// (`ClientConnection.takeStreamBody`: the path of bytes read from a socket, into a parser primed
/// for the body), framed as the head declared: as they are with content-length, else chunked,
/// with the trailers in the last chunk. Bytes wait here while the connection does not read (its
/// upstream not ready yet, or backed up): unacknowledged to the client (`H2StreamBridge.body`),
/// so the stream's flow-control window bounds them; they go once it reads its body again
/// (`ClientConnection.startReadingBody`).
final class H2BodyPipe {
    private let pending = GrowableBytes(capacity: 16)
    private var chunked = false
    /// The stream's body goes through this pipe (its head went as values).
    private(set) var active = false

    var isEmpty: Bool { pending.isEmpty }

    /// A body begins; `c`, its inner connection, tells `bridge` when it reads again.
    func start(chunked: Bool, bridge: H2StreamBridge, connection c: ClientConnection) {
        self.chunked = chunked
        active = true
        pending.reset(keep: H2RequestHead.keptCapacity)
        c.streamBody = bridge
    }

    /// The stream is over: `c` no longer takes its body; what waits is dropped.
    func finish(_ c: ClientConnection?) {
        if active { c?.streamBody = nil }
        active = false
        pending.reset(keep: H2RequestHead.keptCapacity)
    }

    /// DATA, framed.
    func append(_ data: UnsafeRawBufferPointer) {
        if chunked {
            var size = data.count
            var digits = (UInt64(0), 0)
            repeat {
                let d = UInt8(size & 15)
                digits.0 = digits.0 << 8 | UInt64(d < 10 ? 48 + d : 87 + d)
                digits.1 += 1
                size >>= 4
            } while size > 0
            // Most significant digit first: the last pushed is the lowest byte.
            for _ in 0..<digits.1 {
                var b = UInt8(truncatingIfNeeded: digits.0)
                pending.append(&b, 1)
                digits.0 >>= 8
            }
            pending.append("\r\n")
        }
        pending.append(data)
        if chunked { pending.append("\r\n") }
    }

    /// END_STREAM: the last chunk with the trailer lines (`name: value\r\n` each).
    func appendEnd(trailers: [UInt8]) {
        guard chunked else { return }
        pending.append("0\r\n")
        trailers.withUnsafeBytes { pending.append($0) }
        pending.append("\r\n")
    }

    /// Hands `c` what waits, if it reads. True when nothing waits any more (taken, or dropped
    /// because the connection is gone and nothing will read it).
    func push(to c: ClientConnection?) -> Bool {
        if pending.isEmpty { return true }
        if let c, !c.isClosing {
            guard c.isReading else { return false }
            c.takeStreamBody(pending.base, pending.count)
        }
        pending.reset(keep: H2RequestHead.keptCapacity)
        return true
    }
}
