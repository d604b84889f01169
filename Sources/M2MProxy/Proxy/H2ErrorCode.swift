/// RFC 9113 §7 error codes the proxy sends itself.
enum H2ErrorCode {
    static let noError: UInt32 = 0
    static let protocolError: UInt32 = 1
    static let internalError: UInt32 = 2
    static let refusedStream: UInt32 = 7
}
