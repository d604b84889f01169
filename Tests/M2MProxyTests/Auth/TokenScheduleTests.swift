import Testing
@testable import M2MProxy

/// DESIGN.md §5 timing: margin and proactive refresh point.
@Suite struct TokenScheduleTests {
    @Test func marginIsFiveSecondsOrAQuarter() {
        #expect(TokenSchedule.marginMs(lifetimeMs: 3_600_000) == 5000)
        #expect(TokenSchedule.marginMs(lifetimeMs: 8000) == 2000)
    }

    @Test func refreshLeadIsTenPercentClamped() {
        #expect(TokenSchedule.refreshLeadMs(lifetimeMs: 3_600_000) == 300_000)  // 10% = 6 min → 5 min cap
        #expect(TokenSchedule.refreshLeadMs(lifetimeMs: 1_000_000) == 100_000)  // 10%
        #expect(TokenSchedule.refreshLeadMs(lifetimeMs: 120_000) == 30_000)  // 10% = 12 s → 30 s floor
        #expect(TokenSchedule.refreshLeadMs(lifetimeMs: 20_000) == 10_000)  // never more than half
    }

    @Test func cachedTokenFormatsTheHeaderLineOnce() {
        let t = CachedToken(accessToken: Secret("abc.def"), fetchedAt: 1000, lifetimeSeconds: 3600, seq: 1)
        #expect(String(decoding: t.headerLine.buffer, as: UTF8.self) == "Authorization: Bearer abc.def\r\n")
        #expect(t.sendUntil == 1000 + 3_600_000 - 5000)
        #expect(t.refreshAt == 1000 + 3_600_000 - 300_000)
    }

    @Test func failureBackoffPolicy() {
        #expect(TokenFetchFailure.refused("x").retryDelayMs(failures: 1) == 30_000)
        #expect(TokenFetchFailure.rateLimited("x", retryAfterSeconds: 7).retryDelayMs(failures: 1) == 7000)
        // Full jitter: uniform in [0, min(60 s, 1 s · 2^(n-1))], floored at 100 ms.
        for n in 1...10 {
            let cap = UInt64(min(1000 << min(n - 1, 6), 60_000))
            for _ in 0..<50 {
                let d = TokenFetchFailure.transient("x").retryDelayMs(failures: n)
                #expect(d >= 100 && d <= cap)
            }
        }
    }
}
