import Testing
@testable import M2MProxy

@Suite struct FailureLogLimiterTests {
    @Test func admitsAQuotaPerSecondAndReportsWhatItHeldBack() {
        var limiter = FailureLogLimiter()
        var admitted = 0
        for _ in 0..<(FailureLogLimiter.perSecond + 5) {
            let (log, heldBack) = limiter.admit(nowMs: 5_100)
            if log { admitted += 1 }
            #expect(heldBack == 0)
        }
        #expect(admitted == FailureLogLimiter.perSecond)
        // The next second: the 5 held back are reported once, and the quota is fresh.
        let first = limiter.admit(nowMs: 6_000)
        #expect(first.log && first.heldBackBefore == 5)
        let second = limiter.admit(nowMs: 6_999)
        #expect(second.log && second.heldBackBefore == 0)
    }
}
