/// Finds a gRPC request (`content-type: application/grpc…`) among a request's headers. Run only
/// when the client's and the upstream's protocols differ (DESIGN.md §7: gRPC needs HTTP/2 on
/// both sides), so ordinary requests never pay for the scan.
enum GRPCProtocolCheck {
    private static let contentType = Array("content-type".utf8)

    static func isGRPC(_ headers: UnsafeMutablePointer<HeaderSpan>, count: Int) -> Bool {
        for i in 0..<count {
            let h = headers[i]
            if H2Names.equal(h.name.buffer, contentType) && GRPCStatus.isGRPC(contentType: h.value.buffer) { return true }
        }
        return false
    }
}
