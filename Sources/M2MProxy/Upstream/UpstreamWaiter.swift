/// A request queued in an `UpstreamPool` at its `max_upstream_connections` (Proxy's
/// client connection). The pool names nothing else of it: each call returns false when the
/// request no longer waits, and the pool offers the connection or the room to the next one.
protocol UpstreamWaiter: AnyObject {
    /// A connection that just finished another exchange, handed over.
    func upstreamGranted(_ c: UpstreamConnection) -> Bool
    /// A connection of the pool closed: there is room to open one.
    func upstreamSlotFreed() -> Bool
}
