extension HTTPParser {
    /// A request head given as values whose body follows as bytes (an HTTP/2 stream's): llhttp
    /// parses a minimal head with the same framing (`content-length`, else `transfer-encoding:
    /// chunked`), so that the body is parsed, checked and ended exactly as after the head's own
    /// bytes; then the owner sets the head's spans (`setHeadSpans`). Needs a lent header table.
    /// False when llhttp refused it (a bug).
    func primeBody(contentLength: UInt64?) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: 64, alignment: 1) { b in
            var n = 0
            func put(_ s: StaticString) {
                (b.baseAddress! + n).copyMemory(from: s.utf8Start, byteCount: s.utf8CodeUnitCount)
                n += s.utf8CodeUnitCount
            }
            put("POST / HTTP/1.1\r\n")
            if var length = contentLength {
                put("content-length: ")
                // At most 20 digits, written from the last.
                var digits = 1
                var rest = length / 10
                while rest > 0 { digits += 1; rest /= 10 }
                for i in (0..<digits).reversed() {
                    b[n + i] = UInt8(48 + length % 10)
                    length /= 10
                }
                n += digits
                put("\r\n")
            } else {
                put("transfer-encoding: chunked\r\n")
            }
            put("\r\n")
            guard case .headersComplete(let used) = execute(UnsafeRawPointer(b.baseAddress!), n), used == n else { return false }
            resume()
            return true
        }
    }
}
