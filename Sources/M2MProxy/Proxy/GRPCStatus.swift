/// The proxy's own errors as gRPC statuses (DESIGN.md §7): a gRPC client reads `grpc-status`
/// and `grpc-message`, not an HTTP status and a JSON body. Codes from grpc/doc/statuscodes.md;
/// those DESIGN.md does not name follow gRPC's HTTP-to-gRPC table (doc/http-grpc-status-mapping.md).
enum GRPCStatus {
    static func code(forProxyError error: String) -> Int {
        switch error {
        case "no_route": 12                                        // UNIMPLEMENTED
        case "token_unavailable", "upstream_unavailable", "overloaded": 14  // UNAVAILABLE
        case "upstream_timeout", "request_timeout": 4              // DEADLINE_EXCEEDED
        case "forbidden": 7                                        // PERMISSION_DENIED
        case "body_too_large", "header_too_large": 8               // RESOURCE_EXHAUSTED
        default: 13                                                // INTERNAL
        }
    }

    /// `grpc-message` is percent-encoded: bytes outside 0x20–0x7E, and `%` itself (gRPC's
    /// PROTOCOL-HTTP2.md).
    static func percentEncoded(_ s: String) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            if b >= 0x20 && b <= 0x7E && b != UInt8(ascii: "%") {
                out.append(b)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return out
    }

    /// Whether a request's `content-type` is gRPC's (`application/grpc`, `application/grpc+proto`, …).
    static func isGRPC(contentType: UnsafeRawBufferPointer) -> Bool {
        let prefix = Array("application/grpc".utf8)
        guard contentType.count >= prefix.count else { return false }
        for i in 0..<prefix.count {
            let c = contentType[i]
            if (c >= 65 && c <= 90 ? c | 0x20 : c) != prefix[i] { return false }
        }
        return contentType.count == prefix.count || contentType[prefix.count] == UInt8(ascii: "+")
            || contentType[prefix.count] == UInt8(ascii: ";")
    }
}
