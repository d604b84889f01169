/// An upstream connection that may give its place to another (`UpstreamConnection`: still
/// connecting for a request of which nothing was written yet).
protocol HandoffCandidate: AnyObject {
    var awaitsHandoff: Bool { get }
}

/// The requests of one `UpstreamPool` that are opening a new connection, oldest first, held as
/// their connections (Envoy's pending-request list, seen from the connect side): a connection
/// that finishes an exchange while one of them still connects is handed to the oldest instead
/// of being closed at the idle cap. Entries that stopped waiting (connected, failed, or their
/// client left and abandoned them) are dropped when they reach the front, so a client that
/// vanishes needs no call here, and the queue holds at most the connects in flight plus the
/// finished ones queued behind them.
struct HandoffQueue<Element: HandoffCandidate> {
    private var items: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }
    /// Entries held, waiting or not (for tests).
    var count: Int { items.count - head }

    mutating func append(_ e: Element) {
        dropStale()
        if head > 0 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        items.append(e)
    }

    /// The oldest entry still waiting, taken out of the queue; nil when none waits. The caller
    /// offers it the connection outside this call (the offer may re-enter the pool).
    mutating func popWaiting() -> Element? {
        dropStale()
        guard head < items.count else { return nil }
        let e = items[head]
        head += 1
        if head == items.count { reset() }
        return e
    }

    private mutating func dropStale() {
        while head < items.count && !items[head].awaitsHandoff { head += 1 }
        if head == items.count && head > 0 { reset() }
    }

    private mutating func reset() {
        items.removeAll(keepingCapacity: true)
        head = 0
    }
}
