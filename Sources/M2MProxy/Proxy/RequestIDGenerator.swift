/// Per-loop request IDs: 8 hex digits of a random prefix chosen at start, then 8 of a counter.
/// Unique within a process run and, with overwhelming probability, across restarts and loops;
/// made without a `String` or a syscall per request.
final class RequestIDGenerator {
    /// The prefix's 8 hex digits, formatted once.
    private let prefixDigits: UInt64
    private var counter: UInt32 = 0

    init(prefix: UInt32 = UInt32.random(in: 0...UInt32.max)) {
        prefixDigits = Self.hexDigits(prefix)
    }

    /// Writes the next ID (16 lowercase hex digits) at `out`.
    func next(into out: UnsafeMutableRawPointer) {
        counter &+= 1
        out.storeBytes(of: prefixDigits, as: UInt64.self)
        out.storeBytes(of: Self.hexDigits(counter), toByteOffset: 8, as: UInt64.self)
    }

    /// 8 lowercase hex digits of `x`, most significant first in memory order, as one word.
    /// Branch-free: the nibbles are spread one per byte, then turned into ASCII all at once.
    static func hexDigits(_ x: UInt32) -> UInt64 {
        // Bytes of x, most significant first, at bytes 0, 2, 4, 6 of the word.
        var t = UInt64(x.byteSwapped)
        t = (t | (t << 16)) & 0x0000_FFFF_0000_FFFF
        t = (t | (t << 8)) & 0x00FF_00FF_00FF_00FF
        // High nibble first: one nibble per byte.
        let n = ((t >> 4) & 0x000F_000F_000F_000F) | ((t & 0x000F_000F_000F_000F) << 8)
        // 0-9 -> '0'-'9'; 10-15 -> 'a'-'f' (0x27 further on).
        let letters = ((n &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return UInt64(littleEndian: n &+ 0x3030_3030_3030_3030 &+ letters &* 0x27)
    }
}

@available(*, unavailable)
extension RequestIDGenerator: Sendable {}
