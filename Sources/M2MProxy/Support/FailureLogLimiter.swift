/// At most `perSecond` failed-request lines per second: a token-endpoint outage under load must
/// not turn stderr into a flood (the access log has every request). What it holds back is
/// counted and reported in one line when the next second begins.
struct FailureLogLimiter {
    static let perSecond = 20

    private var second: UInt64 = 0
    private var count = 0
    private var suppressed = 0

    /// Whether a failure at loop time `nowMs` gets its line, and how many lines the previous
    /// second held back (to be reported first; 0 = none).
    mutating func admit(nowMs: UInt64) -> (log: Bool, heldBackBefore: Int) {
        var heldBack = 0
        let s = nowMs / 1000
        if s != second {
            heldBack = suppressed
            second = s
            count = 0
            suppressed = 0
        }
        guard count < Self.perSecond else {
            suppressed += 1
            return (false, heldBack)
        }
        count += 1
        return (true, heldBack)
    }

    /// Logs `message` at `info` unless this second's quota is spent.
    mutating func log(_ message: @autoclosure () -> String, nowMs: UInt64, to log: Log) {
        let (admitted, heldBack) = admit(nowMs: nowMs)
        if heldBack > 0 { log.info("\(heldBack) more failed request(s) not logged in the last second") }
        if admitted { log.info(message()) }
    }
}
