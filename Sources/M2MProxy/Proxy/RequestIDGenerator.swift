/// Per-loop request IDs: 8 hex digits of a random prefix chosen at start, then 8 of a counter.
/// Unique within a process run and, with overwhelming probability, across restarts and loops;
/// made without a `String` or a syscall per request.
final class RequestIDGenerator {
    private let prefix: UInt32
    private var counter: UInt32 = 0

    init(prefix: UInt32 = UInt32.random(in: 0...UInt32.max)) {
        self.prefix = prefix
    }

    /// Writes the next ID (16 lowercase hex digits) at `out`.
    func next(into out: UnsafeMutableRawPointer) {
        counter &+= 1
        let value = UInt64(prefix) << 32 | UInt64(counter)
        let hex: StaticString = "0123456789abcdef"
        for i in 0..<16 {
            let nibble = Int((value >> UInt64(60 - 4 * i)) & 0xF)
            out.storeBytes(of: hex.utf8Start[nibble], toByteOffset: i, as: UInt8.self)
        }
    }
}

@available(*, unavailable)
extension RequestIDGenerator: Sendable {}
