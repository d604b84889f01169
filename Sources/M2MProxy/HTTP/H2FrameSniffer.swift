/// Recognises an HTTP/2 server's first bytes where an HTTP/1.1 response was expected: an
/// upstream that speaks only HTTP/2 (a grpcio server, say) answers an HTTP/1.1 request with its
/// SETTINGS frame (RFC 9113 §3.4), often followed by GOAWAY. The error then names the cause.
enum H2FrameSniffer {
    /// A frame header of type SETTINGS (4) or GOAWAY (7) on stream 0 with a plausible length.
    static func startsWithHTTP2Frame(_ p: UnsafeRawPointer, _ count: Int) -> Bool {
        guard count >= 9 else { return false }
        let b = p.assumingMemoryBound(to: UInt8.self)
        let length = Int(b[0]) << 16 | Int(b[1]) << 8 | Int(b[2])
        let type = b[3]
        let stream = (UInt32(b[5]) << 24 | UInt32(b[6]) << 16 | UInt32(b[7]) << 8 | UInt32(b[8])) & 0x7FFF_FFFF
        return (type == 4 && length % 6 == 0 || type == 7 && length >= 8) && length <= 16384 && stream == 0
    }

    static let message = "invalid response from upstream: it speaks HTTP/2 only (use upstream = \"h2c://host:port\", or https with http2 = true)"
}
