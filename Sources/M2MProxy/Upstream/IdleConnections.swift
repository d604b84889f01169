/// An endpoint's idle upstream connections, least recently used first (`UpstreamPool`): a
/// stack over raw memory holding one retain per connection. Per request a connection is popped
/// (`takeLast`, its retain handed to the request) and pushed back (`append`); an `[UpstreamConnection]`
/// checked its uniqueness and capacity on each (callgrind: ~50 instructions per request).
final class IdleConnections {
    private var items: UnsafeMutablePointer<Unmanaged<UpstreamConnection>>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 4)
        items = .allocate(capacity: self.capacity)
    }

    deinit {
        for i in 0..<count { items[i].release() }
        items.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// Keeps `c` (most recently used last), with its retain: a caller's own reference moves in.
    @inline(__always)
    func append(_ c: consuming UpstreamConnection) {
        if count == capacity { grow() }
        items[count] = Unmanaged.passRetained(c)
        count &+= 1
    }

    /// The most recently used one, its retain handed to the caller; nil when none.
    @inline(__always)
    func takeLast() -> Unmanaged<UpstreamConnection>? {
        guard count > 0 else { return nil }
        count &-= 1
        return items[count]
    }

    /// Removes `c` when it is here (its retain released).
    func remove(_ c: UpstreamConnection) {
        let p = Unmanaged.passUnretained(c).toOpaque()
        for i in 0..<count where items[i].toOpaque() == p {
            let held = items[i]
            (items + i).update(from: items + i + 1, count: count - i - 1)
            count -= 1
            held.release()
            return
        }
    }

    /// Closes and drops the `n` least recently used (all when `n` is `count` or more).
    func closeOldest(_ n: Int) {
        let k = min(n, count)
        guard k > 0 else { return }
        let gone = UnsafeMutableBufferPointer(start: items, count: k).map { $0 }
        (items).update(from: items + k, count: count - k)
        count -= k
        for c in gone {
            c._withUnsafeGuaranteedRef { $0.close() }
            c.release()
        }
    }

    private func grow() {
        let bigger = UnsafeMutablePointer<Unmanaged<UpstreamConnection>>.allocate(capacity: 2 * capacity)
        bigger.moveInitialize(from: items, count: count)
        items.deallocate()
        items = bigger
        capacity *= 2
    }
}

@available(*, unavailable)
extension IdleConnections: Sendable {}
