internal import CNGHTTP2

/// The fields of one HEADERS frame being submitted, as nghttp2 name/value pairs over one owned
/// byte area (nghttp2 copies them at submit). Names are lowercased (RFC 9113 §8.2.1).
final class H2FieldList {
    private(set) var nva: [nghttp2_nv] = []
    private let bytes: UnsafeMutableRawPointer
    private var used = 0
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        bytes = .allocate(byteCount: capacity, alignment: 1)
        nva.reserveCapacity(32)
    }

    deinit { bytes.deallocate() }

    func removeAll() {
        nva.removeAll(keepingCapacity: true)
        used = 0
    }

    /// False when the block would not fit.
    @discardableResult
    func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        guard used + name.count + value.count <= capacity else { return false }
        let n = bytes + used
        for i in 0..<name.count {
            let c = name[i]
            n.storeBytes(of: c >= 65 && c <= 90 ? c | 0x20 : c, toByteOffset: i, as: UInt8.self)
        }
        let v = n + name.count
        if value.count > 0 { v.copyMemory(from: value.baseAddress!, byteCount: value.count) }
        used += name.count + value.count
        nva.append(nghttp2_nv(
            name: n.assumingMemoryBound(to: UInt8.self), value: v.assumingMemoryBound(to: UInt8.self),
            namelen: name.count, valuelen: value.count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
        return true
    }

    @discardableResult
    func add(_ name: [UInt8], _ value: [UInt8]) -> Bool {
        name.withUnsafeBytes { n in value.withUnsafeBytes { add(name: n, value: $0) } }
    }
}
