/// Passive health of one upstream endpoint on one loop (DESIGN.md §4, nginx's `max_fails` and
/// `fail_timeout`, Envoy's consecutive-failure outlier detection): `maxFails` connection-level
/// failures in a row eject it for `failTimeoutMs`, doubled for each ejection that follows
/// without a success in between, at most `LimitsConfig.maxFailTimeoutMs`. Times are loop
/// milliseconds (`uv_now`). A value: the picker reads it without a lock.
struct EndpointHealth {
    private(set) var consecutiveFailures = 0
    /// Ejected while `now < ejectedUntil`.
    private(set) var ejectedUntil: UInt64 = 0
    /// Ejections since the last success: the exponent of the next ejection's doubling.
    private(set) var ejectionStreak = 0
    /// Ejections this loop decided (not those learned from other loops), for
    /// `m2m_upstream_ejections_total`.
    private(set) var ejections: UInt64 = 0

    func isEjected(now: UInt64) -> Bool { now < ejectedUntil }

    /// A connection-level failure (refused, reset before a response, connect timeout, TLS).
    /// Returns how long the endpoint is now ejected for when this failure ejects it.
    mutating func recordFailure(now: UInt64, maxFails: Int, failTimeoutMs: Int) -> Int? {
        consecutiveFailures += 1
        guard consecutiveFailures >= maxFails, !isEjected(now: now) else { return nil }
        let ms = Self.ejectionMs(failTimeoutMs, streak: ejectionStreak)
        eject(now: now, forMs: ms)
        ejections &+= 1
        return ms
    }

    /// A response started on this endpoint: it answers again.
    mutating func recordSuccess() {
        consecutiveFailures = 0
        ejectionStreak = 0
        ejectedUntil = 0
    }

    /// Ejects for `forMs` from `now` (another loop's ejection arrives this way too); an
    /// ejection already running longer is kept.
    mutating func eject(now: UInt64, forMs ms: Int) {
        consecutiveFailures = 0
        ejectionStreak += 1
        ejectedUntil = max(ejectedUntil, now &+ UInt64(max(ms, 0)))
    }

    /// `failTimeoutMs · 2^streak`, at most five minutes.
    static func ejectionMs(_ failTimeoutMs: Int, streak: Int) -> Int {
        let cap = LimitsConfig.maxFailTimeoutMs
        guard failTimeoutMs < cap else { return cap }
        var ms = failTimeoutMs
        for _ in 0..<min(streak, 32) {
            ms *= 2
            if ms >= cap { return cap }
        }
        return ms
    }
}
