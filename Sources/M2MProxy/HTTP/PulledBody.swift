/// Body bytes gathered from one end of a stream pair until nghttp2's data provider pulls them
/// (`H2StreamBridge`'s response, `H2UpstreamStream`'s request). One array, reused once drained.
struct PulledBody {
    private(set) var bytes: [UInt8] = []
    private var read = 0

    /// Bytes not yet pulled (the reader stops reading its end above a high-water mark).
    var pending: Int { bytes.count - read }

    mutating func append(_ span: UnsafeRawBufferPointer) { bytes.append(contentsOf: span) }

    mutating func removeAll() {
        bytes.removeAll()
        read = 0
    }

    /// Copies what fits of the pending bytes into `out`. Nil (nghttp2 defers) while none is
    /// pending and the body has not `ended`; `drained` when all was taken, so the owner reads
    /// its end again; `eof` when that was the body's end.
    mutating func pull(into out: UnsafeMutableRawBufferPointer, ended: Bool) -> (count: Int, eof: Bool, drained: Bool)? {
        let available = bytes.count - read
        if available == 0 && !ended { return nil }
        let n = min(available, out.count)
        if n > 0 {
            bytes.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress! + read, byteCount: n) }
            read += n
        }
        guard read == bytes.count else { return (n, false, false) }
        bytes.removeAll(keepingCapacity: true)
        read = 0
        return (n, ended, true)
    }
}
