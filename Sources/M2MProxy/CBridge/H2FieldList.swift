internal import CNGHTTP2

/// The fields of one HEADERS frame being submitted, as nghttp2 name/value pairs over one owned
/// byte area, or borrowed until the submit (nghttp2 copies them there, and lowercases the names
/// as it does: RFC 9113 §8.2.1).
final class H2FieldList {
    /// The pairs (a raw area: an `Array` checks uniqueness and capacity on every append).
    private var nv: UnsafeMutablePointer<nghttp2_nv>
    private(set) var count = 0
    private var nvCapacity = 32
    private let bytes: UnsafeMutableRawPointer
    private var used = 0
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        bytes = .allocate(byteCount: capacity, alignment: 1)
        nv = .allocate(capacity: nvCapacity)
    }

    deinit {
        bytes.deallocate()
        nv.deallocate()
    }

    /// The pairs, for a submit.
    func withNVA<R>(_ body: (UnsafeBufferPointer<nghttp2_nv>) -> R) -> R {
        body(UnsafeBufferPointer(start: nv, count: count))
    }

    func removeAll() {
        count = 0
        used = 0
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
        guard used + 3 <= capacity else { return false }
        let v = bytes + used
        v.storeBytes(of: UInt8(truncatingIfNeeded: 48 + code / 100 % 10), as: UInt8.self)
        (v + 1).storeBytes(of: UInt8(truncatingIfNeeded: 48 + code / 10 % 10), as: UInt8.self)
        (v + 2).storeBytes(of: UInt8(truncatingIfNeeded: 48 + code % 10), as: UInt8.self)
        used += 3
        let name: StaticString = ":status"
        borrow(name: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount),
               value: UnsafeRawBufferPointer(start: v, count: 3))
        return true
    }

    /// Adds a field whose bytes stay valid until the submit (which copies them): no copy here.
    /// Inlined into the per-field loops of a response head.
    @inline(__always)
    func borrow(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        // nghttp2 reads no byte of an empty name or value.
        let empty = UnsafeRawPointer(bytes)
        if count == nvCapacity { grow() }
        (nv + count).initialize(to: nghttp2_nv(
            name: UnsafeMutablePointer(mutating: (name.baseAddress ?? empty).assumingMemoryBound(to: UInt8.self)),
            value: UnsafeMutablePointer(mutating: (value.baseAddress ?? empty).assumingMemoryBound(to: UInt8.self)),
            namelen: name.count, valuelen: value.count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
        count += 1
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
