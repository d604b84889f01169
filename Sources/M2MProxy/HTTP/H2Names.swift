/// Byte strings for converting between HTTP/2 fields and HTTP/1.1 heads (`H2StreamBridge`,
/// `H2UpstreamStream`): HTTP framing shared by the Proxy and Upstream layers, so it lives below both.
enum H2Names {
    static let method = Array(":method".utf8)
    static let path = Array(":path".utf8)
    static let authority = Array(":authority".utf8)
    static let status = Array(":status".utf8)
    static let host = Array("host".utf8)
    static let contentLength = Array("content-length".utf8)
    static let contentType = Array("content-type".utf8)
    static let grpcStatus = Array("grpc-status".utf8)
    static let grpcMessage = Array("grpc-message".utf8)
    static let grpcTimeout = Array("grpc-timeout".utf8)
    static let colonSpace = Array(": ".utf8)
    static let crlf = Array("\r\n".utf8)
    static let chunkedLine = Array("transfer-encoding: chunked\r\n".utf8)
    static let closeLine = Array("connection: close\r\n\r\n".utf8)
    static let lastChunk = Array("0\r\n\r\n".utf8)
    static let zeroChunkLine = Array("0\r\n".utf8)
    // Upstream HTTP/2 (`H2UpstreamStream`).
    static let scheme = Array(":scheme".utf8)
    static let te = Array("te".utf8)
    static let trailers = Array("trailers".utf8)
    static let contentLengthZero = Array("content-length: 0\r\n".utf8)

    /// Appends the HTTP/1.1 field line `name: value\r\n` to `out`.
    static func appendLine(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(contentsOf: name)
        out.append(contentsOf: colonSpace)
        out.append(contentsOf: value)
        out.append(contentsOf: crlf)
    }

    /// ASCII case-insensitive equality (`b` lowercase).
    static func equal(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count {
            let c = a[i]
            if (c >= 65 && c <= 90 ? c | 0x20 : c) != b[i] { return false }
        }
        return true
    }

    /// ASCII case-insensitive equality with a lowercase literal (no static array to load: the
    /// per-field comparisons of the HTTP/2 data path).
    static func equal(_ a: UnsafeRawBufferPointer, _ b: StaticString) -> Bool {
        guard a.count == b.utf8CodeUnitCount else { return false }
        let p = b.utf8Start
        for i in 0..<a.count {
            let c = a[i]
            if (c >= 65 && c <= 90 ? c | 0x20 : c) != p[i] { return false }
        }
        return true
    }

    /// Fields HTTP/2 forbids (RFC 9113 §8.2.2): they describe the HTTP/1.1 hop only.
    static func isConnectionSpecific(_ name: UnsafeRawBufferPointer) -> Bool {
        switch name.count {
        case 7: return equal(name, "upgrade")
        case 10: return equal(name, "connection") || equal(name, "keep-alive")
        case 16: return equal(name, "proxy-connection")
        case 17: return equal(name, "transfer-encoding")
        default: return false
        }
    }
}
