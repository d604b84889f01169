extension ByteSpan {
    /// Whether the first `count` bytes here and at `other` are equal, eight bytes at a time
    /// (the router's key comparison: a request's path prefix against a configured one).
    /// Both spans must hold at least `count` bytes.
    @inline(__always)
    func prefixEquals(_ other: UnsafeRawPointer, count n: Int) -> Bool {
        var i = 0
        while i + 8 <= n {
            if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) != other.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        while i < n {
            if base.load(fromByteOffset: i, as: UInt8.self) != other.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }
}
