/// The router's index: which route comes first in file order for a host, path and method, in a
/// time that does not grow with the number of routes (DESIGN.md §3 semantics, exactly those of
/// the linear scan `Router.linearMatchRef`, which the property tests keep as the oracle).
///
/// Routes fall into host groups: one for routes without `host`, one per exact host, one per
/// wildcard suffix. A request's candidate groups are the any-host group, its exact host (one hash
/// lookup) and each suffix of its host that starts where a configured suffix could start (one
/// lookup per such position, the host hashed once from its end, so a long host costs linear time).
/// In each candidate group the path is hashed once from its start, and every place a route's
/// prefix could end (the start, each `/` or `?`, the end) is one lookup of (group, prefix). An
/// entry lists its routes in file order with their method masks; the first whose mask has the
/// request's method is the entry's answer, and the smallest route number over all entries wins,
/// which is what "first match in file order" means.
///
/// Everything lives in flat arrays built once per configuration: a request allocates nothing,
/// builds no String, and hashes its host and path bytes in place. The table is open addressing
/// at most half full; its keys are the configuration's, so a request cannot lengthen a probe.
struct RouteIndex {
    /// One slot of the open-addressing table: a host key (tag `exactTag` or `suffixTag`, value
    /// = group) or a path key (tag = group, value = start and count in `entryRoutes`).
    private struct Slot {
        var hash: UInt64 = 0
        var tag: Int32 = RouteIndex.emptyTag
        var keyStart: Int32 = 0
        var keyCount: Int32 = 0
        var valueStart: Int32 = 0
        var valueCount: Int32 = 0
    }

    private static let emptyTag: Int32 = .min
    private static let exactTag: Int32 = -1
    private static let suffixTag: Int32 = -2
    private static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let fnvPrime: UInt64 = 0x100_0000_01b3

    private let slots: ContiguousArray<Slot>
    private let slotMask: Int
    /// Every key's bytes, back to back (host keys lowercased, as the routes compare them), at a
    /// stable address so that a path compares eight bytes at a time.
    private let keyBytes: StaticBytes
    /// The routes of each path entry in file order, and their method masks.
    private let entryRoutes: ContiguousArray<Int32>
    private let entryMasks: ContiguousArray<UInt64>
    /// Per group: bit n (n < 63) set when some prefix of the group is n bytes long, bit 63 for
    /// any longer one; and the longest prefix, past which a path walk stops.
    private let groupLengths: ContiguousArray<UInt64>
    private let groupMaxLength: ContiguousArray<Int32>
    /// The group of routes without a host (-1: none), and of `.suffix("")` (any non-empty host).
    private let anyGroup: Int32
    private let emptySuffixGroup: Int32
    private let hasExact: Bool
    private let hasSuffix: Bool
    /// Bit b set when some wildcard suffix begins with byte b (in practice only "."): the only
    /// host positions worth a lookup.
    private let suffixStarts: (UInt64, UInt64, UInt64, UInt64)

    /// What the index needs of a route: nothing of its upstream.
    struct Key {
        var host: HostMatch
        /// Lowercased host or suffix bytes (empty for `.any`).
        var hostBytes: [UInt8]
        /// Path prefix bytes, empty for "/".
        var prefixBytes: [UInt8]
        var methodMask: UInt64
    }

    init(_ keys: [Key]) {
        var builder = Builder(expectedKeys: keys.count)
        for (route, key) in keys.enumerated() { builder.add(route: Int32(route), key) }
        slotMask = builder.slots.count - 1
        keyBytes = StaticBytes(builder.keyBytes)
        var routes = ContiguousArray<Int32>()
        var masks = ContiguousArray<UInt64>()
        // Entries were collected as lists; flatten them and point each path slot at its range.
        var flatSlots = builder.slots
        for i in flatSlots.indices where flatSlots[i].tag >= 0 {
            let list = builder.entries[Int(flatSlots[i].valueStart)]
            flatSlots[i].valueStart = Int32(routes.count)
            flatSlots[i].valueCount = Int32(list.count)
            for (r, m) in list {
                routes.append(r)
                masks.append(m)
            }
        }
        slots = flatSlots
        entryRoutes = routes
        entryMasks = masks
        groupLengths = builder.groupLengths
        groupMaxLength = builder.groupMaxLength
        anyGroup = builder.anyGroup
        emptySuffixGroup = builder.emptySuffixGroup
        hasExact = builder.hasExact
        hasSuffix = builder.hasSuffix
        suffixStarts = builder.suffixStarts
    }

    /// The number of the first route in file order that takes this request, or nil. `host` is
    /// without port; `path` without query; `method` an llhttp method code.
    func firstMatch(host: ByteSpan, path: ByteSpan, method: Int) -> Int? {
        // The linear scan takes no method code outside a 64-bit mask, not even for "any method".
        guard method >= 0 && method < 64 else { return nil }
        let bit: UInt64 = 1 << UInt64(method)
        var best = Int32.max
        if anyGroup >= 0 { best = bestInGroup(anyGroup, path: path, bit: bit, best: best) }
        if emptySuffixGroup >= 0 && host.count > 0 {
            best = bestInGroup(emptySuffixGroup, path: path, bit: bit, best: best)
        }
        if hasExact || hasSuffix {
            // FNV-1a over the lowercased host from its last byte: at position i the hash covers
            // host[i...], so every suffix costs one step, not a rehash.
            var h = Self.fnvOffset
            var i = host.count - 1
            while i >= 0 {
                let b = asciiLower(host[i])
                h = (h ^ UInt64(b)) &* Self.fnvPrime
                // A suffix matches only a longer host: i > 0.
                if hasSuffix && i > 0 && Self.bitSet(suffixStarts, b),
                   let slot = find(hash: h, tag: Self.suffixTag, count: host.count - i, matches: { k in
                       hostBytesEqual(host, from: i, keyStart: k)
                   }) {
                    best = bestInGroup(slots[slot].valueStart, path: path, bit: bit, best: best)
                }
                i -= 1
            }
            if hasExact, let slot = find(hash: h, tag: Self.exactTag, count: host.count, matches: { k in
                hostBytesEqual(host, from: 0, keyStart: k)
            }) {
                best = bestInGroup(slots[slot].valueStart, path: path, bit: bit, best: best)
            }
        }
        return best == .max ? nil : Int(best)
    }

    /// The first route of `group` that takes the path and method, if it comes before `best`.
    private func bestInGroup(_ group: Int32, path: ByteSpan, bit: UInt64, best: Int32) -> Int32 {
        var best = best
        let lengths = groupLengths[Int(group)]
        if lengths & 1 != 0 {
            best = bestInEntry(hash: Self.fnvOffset, group: group, path: path, count: 0, bit: bit, best: best)
        }
        let last = min(path.count, Int(groupMaxLength[Int(group)]))
        var h = Self.fnvOffset
        var k = 0
        while k < last {
            h = (h ^ UInt64(path[k])) &* Self.fnvPrime
            k += 1
            // A prefix of k bytes ends here when the path ends or a '/' or '?' follows
            // (segment-aware: "/products" does not take "/productsX").
            if k == path.count || path[k] == UInt8(ascii: "/") || path[k] == UInt8(ascii: "?"),
               lengths & (1 << UInt64(min(k, 63))) != 0 {
                best = bestInEntry(hash: h, group: group, path: path, count: k, bit: bit, best: best)
            }
        }
        return best
    }

    /// The entry (group, the path's first `count` bytes): its first route taking the method, if
    /// it comes before `best`.
    private func bestInEntry(hash h: UInt64, group: Int32, path: ByteSpan, count k: Int, bit: UInt64, best: Int32) -> Int32 {
        let keys = keyBytes.base
        guard let slot = find(hash: h, tag: group, count: k, matches: { path.prefixEquals(keys + $0, count: k) }) else {
            return best
        }
        let s = slots[slot]
        var j = Int(s.valueStart)
        let end = j + Int(s.valueCount)
        while j < end {
            let route = entryRoutes[j]
            if route >= best { break }
            if entryMasks[j] & bit != 0 { return route }
            j += 1
        }
        return best
    }

    /// The slot holding key (tag, bytes), probing from its hash; `matches` compares the bytes.
    @inline(__always)
    private func find(hash: UInt64, tag: Int32, count: Int, matches: (Int) -> Bool) -> Int? {
        let full = Self.finish(hash, tag: tag)
        var i = Int(truncatingIfNeeded: full) & slotMask
        while true {
            let s = slots[i]
            if s.tag == Self.emptyTag { return nil }
            if s.hash == full && s.tag == tag && Int(s.keyCount) == count && matches(Int(s.keyStart)) { return i }
            i = (i + 1) & slotMask
        }
    }

    private func hostBytesEqual(_ host: ByteSpan, from start: Int, keyStart: Int) -> Bool {
        let keys = keyBytes.base
        var i = start
        var k = keyStart
        while i < host.count {
            if asciiLower(host[i]) != keys.load(fromByteOffset: k, as: UInt8.self) { return false }
            i += 1
            k += 1
        }
        return true
    }

    /// Mixes the tag in and spreads the bits (FNV's low bits alone cluster for short keys).
    @inline(__always)
    fileprivate static func finish(_ h: UInt64, tag: Int32) -> UInt64 {
        var x = h ^ (UInt64(UInt32(bitPattern: tag)) &* 0x9E37_79B9_7F4A_7C15)
        x ^= x >> 29
        x &*= 0xBF58_476D_1CE4_E5B9
        x ^= x >> 32
        return x
    }

    fileprivate static func bitSet(_ set: (UInt64, UInt64, UInt64, UInt64), _ b: UInt8) -> Bool {
        let bit: UInt64 = 1 << UInt64(b & 63)
        switch b >> 6 {
        case 0: return set.0 & bit != 0
        case 1: return set.1 & bit != 0
        case 2: return set.2 & bit != 0
        default: return set.3 & bit != 0
        }
    }

    /// Builds the table once per configuration (on reload, per loop): linear in the routes.
    private struct Builder {
        var slots: ContiguousArray<Slot>
        var keyBytes = ContiguousArray<UInt8>()
        /// Per path slot (its `valueStart` before flattening): the entry's routes and masks.
        var entries: [[(Int32, UInt64)]] = []
        var groupLengths = ContiguousArray<UInt64>()
        var groupMaxLength = ContiguousArray<Int32>()
        var anyGroup: Int32 = -1
        var emptySuffixGroup: Int32 = -1
        var hasExact = false
        var hasSuffix = false
        var suffixStarts: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        init(expectedKeys: Int) {
            // Each route adds at most a host key and a path key: at most half full.
            var capacity = 16
            while capacity < 4 * max(expectedKeys, 1) { capacity <<= 1 }
            slots = ContiguousArray(repeating: Slot(), count: capacity)
        }

        mutating func add(route: Int32, _ key: Key) {
            let group = groupOf(key)
            let prefix = key.prefixBytes
            var h = RouteIndex.fnvOffset
            for b in prefix { h = (h ^ UInt64(b)) &* RouteIndex.fnvPrime }
            let (slot, isNew) = insert(hash: h, tag: group, bytes: prefix)
            if isNew {
                slots[slot].valueStart = Int32(entries.count)
                entries.append([])
                groupLengths[Int(group)] |= 1 << UInt64(min(prefix.count, 63))
                groupMaxLength[Int(group)] = max(groupMaxLength[Int(group)], Int32(prefix.count))
            }
            // A route whose methods the entry's earlier routes already take can never be the
            // entry's first match: leaving it out bounds an entry by the 64 method bits.
            let e = Int(slots[slot].valueStart)
            let taken = entries[e].reduce(UInt64(0)) { $0 | $1.1 }
            if key.methodMask & ~taken != 0 { entries[e].append((route, key.methodMask)) }
        }

        private mutating func groupOf(_ key: Key) -> Int32 {
            switch key.host {
            case .any:
                if anyGroup < 0 { anyGroup = newGroup() }
                return anyGroup
            case .exact, .suffix:
                let isSuffix: Bool
                if case .suffix = key.host { isSuffix = true } else { isSuffix = false }
                let bytes = key.hostBytes
                if isSuffix && bytes.isEmpty {
                    if emptySuffixGroup < 0 { emptySuffixGroup = newGroup() }
                    return emptySuffixGroup
                }
                // Hashed from the last byte, as a request's host is.
                var h = RouteIndex.fnvOffset
                for b in bytes.reversed() { h = (h ^ UInt64(b)) &* RouteIndex.fnvPrime }
                let (slot, isNew) = insert(hash: h, tag: isSuffix ? RouteIndex.suffixTag : RouteIndex.exactTag, bytes: bytes)
                if isNew {
                    slots[slot].valueStart = newGroup()
                    if isSuffix {
                        hasSuffix = true
                        let b = bytes[0]
                        let bit: UInt64 = 1 << UInt64(b & 63)
                        switch b >> 6 {
                        case 0: suffixStarts.0 |= bit
                        case 1: suffixStarts.1 |= bit
                        case 2: suffixStarts.2 |= bit
                        default: suffixStarts.3 |= bit
                        }
                    } else {
                        hasExact = true
                    }
                }
                return slots[slot].valueStart
            }
        }

        private mutating func newGroup() -> Int32 {
            groupLengths.append(0)
            groupMaxLength.append(0)
            return Int32(groupLengths.count - 1)
        }

        /// The slot of (tag, bytes), added when absent; `isNew` says which.
        private mutating func insert(hash: UInt64, tag: Int32, bytes: [UInt8]) -> (Int, Bool) {
            let full = RouteIndex.finish(hash, tag: tag)
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: full) & mask
            while slots[i].tag != RouteIndex.emptyTag {
                let s = slots[i]
                if s.hash == full && s.tag == tag && Int(s.keyCount) == bytes.count
                    && keyBytes[Int(s.keyStart)..<Int(s.keyStart) + bytes.count].elementsEqual(bytes) {
                    return (i, false)
                }
                i = (i + 1) & mask
            }
            slots[i] = Slot(hash: full, tag: tag, keyStart: Int32(keyBytes.count), keyCount: Int32(bytes.count))
            keyBytes.append(contentsOf: bytes)
            return (i, true)
        }
    }
}
