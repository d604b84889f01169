/// A request's failover budget (DESIGN.md §4): how many other endpoints it has tried after a
/// connection failed before anything was sent, and when its connect timeout runs out. Every
/// attempt shares one `connect_timeout_ms`: failover never makes a client wait longer for a
/// 502 or 504 than one attempt would.
struct UpstreamFailover {
    var tries = 0
    /// Loop milliseconds; 0 = no attempt yet.
    var deadline: UInt64 = 0

    /// The time left for the next attempt, starting the clock at the first one.
    mutating func budgetMs(now: UInt64, connectTimeoutMs: Int) -> Int {
        if deadline == 0 { deadline = now &+ UInt64(connectTimeoutMs) }
        return deadline > now ? Int(deadline - now) : 0
    }

    /// Whether another endpoint may be tried: retries left, and at least a millisecond.
    mutating func mayRetry(now: UInt64, retries: Int) -> Bool {
        guard tries < retries, deadline > now else { return false }
        tries += 1
        return true
    }
}
