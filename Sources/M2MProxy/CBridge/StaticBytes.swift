/// Immutable bytes at a stable address, made once (per config, per token, per connection) and
/// then written by reference in iovecs. A Swift `Array` could move or be copied on write; libuv
/// needs a pointer that stays valid for the duration of `uv_try_write`/`uv_write`.
///
/// Sendable because nothing writes through `base` after init (a token's header line is read by
/// every worker loop).
final class StaticBytes: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int

    init(_ bytes: some Collection<UInt8>) {
        count = bytes.count
        base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 1)
        var i = 0
        for b in bytes {
            base.storeBytes(of: b, toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }

    convenience init(_ string: String) {
        self.init(Array(string.utf8))
    }

    deinit { base.deallocate() }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Borrowed view; valid while this object lives.
    var span: ByteSpan { ByteSpan(base: UnsafeRawPointer(base), count: count) }
}
