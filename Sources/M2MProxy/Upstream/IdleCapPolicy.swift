/// When `limits.upstream_idle_connections` closes connections of one `UpstreamPool`. The cap is
/// what stays idle once the load is gone; it no longer cuts a burst in the middle. With more
/// concurrent requests than the cap, a hard cap closes every connection that finishes while the
/// idle list is full and the next wave of requests opens as many again (nginx `keepalive 64`
/// and HAProxy `pool-max-conn 64` both do: 433 and 338 new upstream connections per 1000
/// requests at 256 clients, compare.sh). So:
/// - while the pool is short (a request of it had to open a new connection in this trim period
///   or the last), a finishing connection beyond the cap stays idle;
/// - at each trim tick (every 2 s, the worker's buffer-pool period), idle connections beyond the
///   cap that no request took since the last tick are closed, least recently used first (the
///   buffer pool's rule: what steady traffic reuses stays, what a burst left behind goes).
/// Idle connections hold no buffer, only their socket; their number is bounded by the
/// concurrent requests (and `max_upstream_connections`).
struct IdleCapPolicy {
    private var shortNow = false
    private var shortBefore = false
    /// The fewest idle connections since the last tick: that many were taken by no request.
    private var idleLow = 0

    /// A request had to open a new connection.
    @inline(__always)
    mutating func noteShort() { shortNow = true }

    /// The idle list shrank to `count` (a request took one, or the upstream closed one).
    @inline(__always)
    mutating func noteIdle(_ count: Int) {
        if count < idleLow { idleLow = count }
    }

    /// Whether a finishing connection stays idle with `idleCount` already idle.
    func keeps(idleCount: Int, maxIdle: Int) -> Bool {
        guard maxIdle > 0 else { return false }
        return idleCount < maxIdle || shortNow || shortBefore
    }

    /// At a trim tick: how many idle connections (the least recently used) to close now.
    mutating func trim(idleCount: Int, maxIdle: Int) -> Int {
        let close = max(0, min(idleCount - maxIdle, idleLow))
        idleLow = idleCount - close
        shortBefore = shortNow
        shortNow = false
        return close
    }
}
