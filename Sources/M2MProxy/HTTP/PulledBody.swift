/// Body bytes gathered from one end of a stream pair until nghttp2's data provider pulls them
/// (`H2StreamBridge`'s response, `H2UpstreamStream`'s request). One byte area, reused once
/// drained: a `GrowableBytes`, not an `[UInt8]`, whose append and drain went through
/// `Array.append(contentsOf:)` and `replaceSubrange` with their uniqueness checks (callgrind:
/// ~110 instructions per HTTP/2 response). A class, held by `let`: its owner never copies it.
final class PulledBody {
    private let storage = GrowableBytes(capacity: 0)
    private var read = 0

    /// Bytes not yet pulled (the reader stops reading its end above a high-water mark).
    var pending: Int { storage.count - read }

    /// The storage held (given back by `removeAll`).
    var capacity: Int { storage.capacity }

    func append(_ span: UnsafeRawBufferPointer) {
        if let p = span.baseAddress { storage.append(p, span.count) }
    }

    /// Drops what is pending and gives the storage back.
    func removeAll() {
        storage.reset(keep: 0)
        read = 0
    }

    /// Copies what fits of the pending bytes into `out`. Nil (nghttp2 defers) while none is
    /// pending and the body has not `ended`; `drained` when all was taken, so the owner reads
    /// its end again; `eof` when that was the body's end.
    func pull(into out: UnsafeMutableRawBufferPointer, ended: Bool) -> (count: Int, eof: Bool, drained: Bool)? {
        let available = storage.count - read
        if available == 0 && !ended { return nil }
        let n = min(available, out.count)
        if n > 0 {
            out.baseAddress!.copyMemory(from: storage.base + read, byteCount: n)
            read += n
        }
        guard read == storage.count else { return (n, false, false) }
        storage.reset()
        read = 0
        return (n, ended, true)
    }
}

@available(*, unavailable)
extension PulledBody: Sendable {}
