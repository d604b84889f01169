internal import CNGHTTP2

/// The fields of one HEADERS frame being submitted, as nghttp2 name/value pairs over one owned
/// byte area, or borrowed until the submit (nghttp2 copies them there, and lowercases the names
/// as it does: RFC 9113 §8.2.1), or, for a response head begun with `removeAll(copyingInto:)`,
/// copied into the stream's own area with the names lowercased, which nghttp2 takes as they are.
final class H2FieldList {
    /// The pairs (a raw area: an `Array` checks uniqueness and capacity on every append).
    private var nv: UnsafeMutablePointer<nghttp2_nv>
    private(set) var count = 0
    private var nvCapacity = 32
    private let bytes: UnsafeMutableRawPointer
    private var used = 0
    private let capacity: Int
    /// The stream's area (`removeAll(copyingInto:)`), nil when nghttp2 is to copy the fields.
    private var area: UnsafeMutableRawPointer?
    private var areaUsed = 0
    private var areaCapacity = 0
    /// nghttp2 takes name and value as they are: no copy, no lowercasing of the name.
    private static let asTheyAre = UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue | NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue)

    init(capacity: Int) {
        self.capacity = capacity
        bytes = .allocate(byteCount: capacity, alignment: 1)
        nv = .allocate(capacity: nvCapacity)
    }

    deinit {
        bytes.deallocate()
        nv.deallocate()
    }

    /// The pairs, for a submit. The stream's area goes with that submit: the list lets go of it
    /// then, so that a later `borrow` without `removeAll` cannot write into a bridge that is
    /// gone or serving another stream.
    func withNVA<R>(_ body: (UnsafeBufferPointer<nghttp2_nv>) -> R) -> R {
        defer { area = nil }
        return body(UnsafeBufferPointer(start: nv, count: count))
    }

    func removeAll() {
        count = 0
        used = 0
        area = nil
    }

    /// Begins a response head whose fields (`borrow`, `addStatus`) are copied into `area`, names
    /// lowercased, and handed to nghttp2 as they are (NGHTTP2_NV_FLAG_NO_COPY_*): one copy of
    /// ours, word by word (`copy`), instead of nghttp2's `memcpy` calls and `nghttp2_downcase`
    /// (~200 instructions less per response of five fields, callgrind). `area` must hold its bytes until the HEADERS frame is sent or dropped: the
    /// stream's own (`H2StreamBridge`), rewritten only by its next stream's response, when this
    /// stream has closed, and nghttp2 drops a closed stream's queued HEADERS unread. Fields that
    /// do not fit go the copying way.
    func removeAll(copyingInto area: UnsafeMutableRawBufferPointer) {
        removeAll()
        self.area = area.baseAddress
        areaUsed = 0
        areaCapacity = area.count
    }

    /// False when the block would not fit.
    @discardableResult
    func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        guard used + name.count + value.count <= capacity else { return false }
        let n = bytes + used
        if name.count > 0 { n.copyMemory(from: name.baseAddress!, byteCount: name.count) }
        let v = n + name.count
        if value.count > 0 { v.copyMemory(from: value.baseAddress!, byteCount: value.count) }
        used += name.count + value.count
        borrow(name: UnsafeRawBufferPointer(start: n, count: name.count), value: UnsafeRawBufferPointer(start: v, count: value.count))
        return true
    }

    /// `:status` with a three-digit `code` (once per response): the name is a literal (static
    /// bytes, borrowed) and the digits are stored, with no copy call for either.
    @discardableResult
    func addStatus(_ code: Int) -> Bool {
        let inArea = area != nil && areaUsed + 3 <= areaCapacity
        guard inArea || used + 3 <= capacity else { return false }
        let v = inArea ? area.unsafelyUnwrapped + areaUsed : bytes + used
        v.storeBytes(of: UInt8(truncatingIfNeeded: 48 + code / 100 % 10), as: UInt8.self)
        (v + 1).storeBytes(of: UInt8(truncatingIfNeeded: 48 + code / 10 % 10), as: UInt8.self)
        (v + 2).storeBytes(of: UInt8(truncatingIfNeeded: 48 + code % 10), as: UInt8.self)
        if inArea { areaUsed += 3 } else { used += 3 }
        // The name is static: never copied.
        let name: StaticString = ":status"
        let flags = inArea ? Self.asTheyAre : UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue)
        append(UnsafeRawPointer(name.utf8Start), name.utf8CodeUnitCount, UnsafeRawPointer(v), 3, flags: flags)
        return true
    }

    /// Adds a field whose bytes stay valid until the submit: copied into the stream's area when
    /// there is one (`removeAll(copyingInto:)`), else left to the submit to copy. Inlined into
    /// the per-field loops of a response head.
    @inline(__always)
    func borrow(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        // nghttp2 reads no byte of an empty name or value.
        let empty = UnsafeRawPointer(bytes)
        let n = name.count, v = value.count
        if let a = area, areaUsed + n + v <= areaCapacity {
            let p = a + areaUsed
            if n > 0 { Self.copy(name.baseAddress.unsafelyUnwrapped, n, to: p, lower: true) }
            if v > 0 { Self.copy(value.baseAddress.unsafelyUnwrapped, v, to: p + n, lower: false) }
            areaUsed += n + v
            append(UnsafeRawPointer(p), n, UnsafeRawPointer(p + n), v, flags: Self.asTheyAre)
        } else {
            append(name.baseAddress ?? empty, n, value.baseAddress ?? empty, v, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
        }
    }

    @inline(__always)
    private func append(_ name: UnsafeRawPointer, _ n: Int, _ value: UnsafeRawPointer, _ v: Int, flags: UInt8) {
        if count == nvCapacity { grow() }
        (nv + count).initialize(to: nghttp2_nv(
            name: UnsafeMutablePointer(mutating: name.assumingMemoryBound(to: UInt8.self)),
            value: UnsafeMutablePointer(mutating: value.assumingMemoryBound(to: UInt8.self)),
            namelen: n, valuelen: v, flags: flags))
        count += 1
    }

    /// Copies `n` bytes (a field's name or value: mostly a few dozen bytes) with word loads and
    /// stores, overlapping at the end, instead of a `memcpy` call; ASCII letters lowercased when
    /// `lower` (RFC 9113 §8.2.1), as `nghttp2_downcase` does.
    @inline(__always)
    static func copy(_ src: UnsafeRawPointer, _ n: Int, to dst: UnsafeMutableRawPointer, lower: Bool) {
        @inline(__always) func word(_ w: UInt64) -> UInt64 { lower ? lowercased(w) : w }
        if n >= 8 {
            if n > 64 && !lower { return dst.copyMemory(from: src, byteCount: n) }
            var i = 0
            while i + 8 < n {
                dst.storeBytes(of: word(src.loadUnaligned(fromByteOffset: i, as: UInt64.self)), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            dst.storeBytes(of: word(src.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)), toByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 {
            let a = word(UInt64(src.loadUnaligned(as: UInt32.self)))
            let b = word(UInt64(src.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)))
            dst.storeBytes(of: UInt32(truncatingIfNeeded: a), as: UInt32.self)
            dst.storeBytes(of: UInt32(truncatingIfNeeded: b), toByteOffset: n - 4, as: UInt32.self)
        } else if n >= 2 {
            let a = word(UInt64(src.loadUnaligned(as: UInt16.self)))
            let b = word(UInt64(src.loadUnaligned(fromByteOffset: n - 2, as: UInt16.self)))
            dst.storeBytes(of: UInt16(truncatingIfNeeded: a), as: UInt16.self)
            dst.storeBytes(of: UInt16(truncatingIfNeeded: b), toByteOffset: n - 2, as: UInt16.self)
        } else if n == 1 {
            dst.storeBytes(of: UInt8(truncatingIfNeeded: word(UInt64(src.load(as: UInt8.self)))), as: UInt8.self)
        }
    }

    /// `w` with its bytes 'A'...'Z' lowercased: on the low seven bits of each byte (no carry
    /// crosses bytes), (b + 0x3f) & ~(b + 0x25) has bit 7 set exactly for 'A'...'Z', and bytes
    /// over 0x7f are left as they are.
    @inline(__always)
    static func lowercased(_ w: UInt64) -> UInt64 {
        let low7 = w & 0x7f7f_7f7f_7f7f_7f7f
        let upper = (low7 &+ 0x3f3f_3f3f_3f3f_3f3f) & ~(low7 &+ 0x2525_2525_2525_2525) & ~w & 0x8080_8080_8080_8080
        return w | upper >> 2
    }

    /// Field `i` as bytes, and whether nghttp2 takes it as it is (for tests).
    func field(at i: Int) -> (name: [UInt8], value: [UInt8], asTheyAre: Bool) {
        let e = nv[i]
        return (Array(UnsafeRawBufferPointer(start: e.name, count: e.namelen)),
                Array(UnsafeRawBufferPointer(start: e.value, count: e.valuelen)), e.flags == Self.asTheyAre)
    }

    @inline(never)
    private func grow() {
        let grown = UnsafeMutablePointer<nghttp2_nv>.allocate(capacity: 2 * nvCapacity)
        grown.moveInitialize(from: nv, count: count)
        nv.deallocate()
        nv = grown
        nvCapacity *= 2
    }

    @discardableResult
    func add(_ name: [UInt8], _ value: [UInt8]) -> Bool {
        name.withUnsafeBytes { n in value.withUnsafeBytes { add(name: n, value: $0) } }
    }
}
