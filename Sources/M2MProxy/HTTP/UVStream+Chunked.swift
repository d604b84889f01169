/// HTTP/1.1 body framing written into a stream pair by the HTTP/2 bridges (`H2StreamBridge`
/// toward the inner connection, `H2UpstreamStream` back to the upstream connection).
extension UVStream {
    /// Writes `data` as one chunk (`size\r\n`, bytes, `\r\n`) when `chunked`, else as it is.
    func writeBody(_ data: UnsafeRawBufferPointer, chunked: Bool) {
        if chunked {
            var line = Array(String(data.count, radix: 16).utf8)
            line += H2Names.crlf
            line.withUnsafeBytes { _ = write($0.baseAddress!, $0.count) }
        }
        _ = write(data.baseAddress!, data.count)
        if chunked { H2Names.crlf.withUnsafeBytes { _ = write($0.baseAddress!, $0.count) } }
    }

    /// Ends a chunked body: the last chunk, the `trailers` (field lines), the empty line.
    func writeLastChunk(trailers: [UInt8]) {
        if trailers.isEmpty {
            H2Names.lastChunk.withUnsafeBytes { _ = write($0.baseAddress!, $0.count) }
            return
        }
        var end = H2Names.zeroChunkLine
        end += trailers
        end += H2Names.crlf
        end.withUnsafeBytes { _ = write($0.baseAddress!, $0.count) }
    }
}
