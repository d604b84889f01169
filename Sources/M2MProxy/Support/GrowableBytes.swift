/// A reusable byte area for messages built once per request: appends are a bounds check and a
/// copy (no `Array` uniqueness or capacity bookkeeping), emptying keeps the storage. Grows by
/// doubling; `reset(keep:)` gives back storage a large message left.
final class GrowableBytes {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(byteCount: self.capacity, alignment: 1)
    }

    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
    var isEmpty: Bool { count == 0 }

    /// Empties the area; storage over `keep` bytes is given back.
    func reset(keep: Int = .max) {
        count = 0
        // Compared with the smallest storage kept, so that an area already that small is not
        // reallocated on every reset (`reset(keep: 0)` per body).
        let target = max(keep, 16)
        if capacity > target { reallocate(to: target) }
    }

    /// The area holds exactly `b`'s bytes now (storage kept): `reset()` and `append` in one,
    /// inlined (an HTTP/2 stream's pseudo-headers, per request on the data path).
    @inline(__always)
    func replace(with b: UnsafeRawBufferPointer) {
        let n = b.count
        if n > capacity { count = 0; grow(to: n) }
        if let p = b.baseAddress { base.copyMemory(from: p, byteCount: n) }
        count = n
    }

    @inline(__always)
    func append(_ p: UnsafeRawPointer, _ n: Int) {
        if count + n > capacity { grow(to: count + n) }
        (base + count).copyMemory(from: p, byteCount: n)
        count += n
    }

    func append(_ b: UnsafeRawBufferPointer) {
        if let p = b.baseAddress { append(p, b.count) }
    }

    func append(_ s: StaticString) { append(UnsafeRawPointer(s.utf8Start), s.utf8CodeUnitCount) }

    func append(_ other: GrowableBytes) { append(UnsafeRawPointer(other.base), other.count) }

    /// Appends the 8 bytes of `w` (unaligned) with a store, not a `memcpy` call.
    @inline(__always)
    func appendWord(_ w: UInt64) {
        if count + 8 > capacity { grow(to: count + 8) }
        (base + count).storeBytes(of: w, as: UInt64.self)
        count += 8
    }

    /// Appends the field line `name: value\r\n` with one capacity check (an HTTP/2 stream's
    /// fields, per field on the data path).
    func appendLine(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        let n = name.count + value.count + 4
        if count + n > capacity { grow(to: count + n) }
        var p = base + count
        if let a = name.baseAddress { p.copyMemory(from: a, byteCount: name.count) }
        p += name.count
        p.storeBytes(of: UInt8(ascii: ":"), as: UInt8.self)
        (p + 1).storeBytes(of: UInt8(ascii: " "), as: UInt8.self)
        p += 2
        if let v = value.baseAddress { p.copyMemory(from: v, byteCount: value.count) }
        p += value.count
        p.storeBytes(of: 13, as: UInt8.self)
        (p + 1).storeBytes(of: 10, as: UInt8.self)
        count += n
    }

    /// Exactly the bytes of `s` (case-sensitive: methods).
    func equals(_ s: StaticString) -> Bool {
        count == s.utf8CodeUnitCount && bytes.elementsEqual(UnsafeRawBufferPointer(start: s.utf8Start, count: count))
    }

    private func grow(to n: Int) {
        var c = capacity
        while c < n { c *= 2 }
        reallocate(to: c)
    }

    private func reallocate(to c: Int) {
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 1)
        fresh.copyMemory(from: base, byteCount: min(count, c))
        base.deallocate()
        base = fresh
        capacity = c
    }
}
