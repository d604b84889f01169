import Testing
@testable import M2MProxy

@Suite struct EndpointHealthTests {
    @Test func maxFailsInARowEject() {
        var h = EndpointHealth()
        #expect(h.recordFailure(now: 1000, maxFails: 3, failTimeoutMs: 10000) == nil)
        #expect(h.recordFailure(now: 1001, maxFails: 3, failTimeoutMs: 10000) == nil)
        #expect(h.recordFailure(now: 1002, maxFails: 3, failTimeoutMs: 10000) == 10000)
        #expect(h.isEjected(now: 1002))
        #expect(h.isEjected(now: 11001))
        #expect(!h.isEjected(now: 11002))
        #expect(h.ejections == 1)
    }

    @Test func aSuccessResetsTheStreak() {
        var h = EndpointHealth()
        _ = h.recordFailure(now: 0, maxFails: 3, failTimeoutMs: 100)
        _ = h.recordFailure(now: 0, maxFails: 3, failTimeoutMs: 100)
        h.recordSuccess()
        #expect(h.recordFailure(now: 0, maxFails: 3, failTimeoutMs: 100) == nil)
        #expect(!h.isEjected(now: 0))
    }

    @Test func repeatsDoubleUpToFiveMinutes() {
        var h = EndpointHealth()
        var now: UInt64 = 0
        var seen: [Int] = []
        for _ in 0..<8 {
            var ms: Int?
            while ms == nil { ms = h.recordFailure(now: now, maxFails: 1, failTimeoutMs: 10000) }
            seen.append(ms!)
            now += UInt64(ms!) + 1
        }
        #expect(seen == [10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000])
        h.recordSuccess()
        #expect(!h.isEjected(now: 0))
        #expect(h.recordFailure(now: now, maxFails: 1, failTimeoutMs: 10000) == 10000)
    }

    @Test func failuresWhileEjectedDoNotExtendIt() {
        var h = EndpointHealth()
        #expect(h.recordFailure(now: 0, maxFails: 1, failTimeoutMs: 1000) == 1000)
        #expect(h.recordFailure(now: 10, maxFails: 1, failTimeoutMs: 1000) == nil)
        #expect(!h.isEjected(now: 1000))
    }

    @Test func anotherLoopsEjectionApplies() {
        var h = EndpointHealth()
        h.eject(now: 500, forMs: 2000)
        #expect(h.isEjected(now: 2499))
        #expect(!h.isEjected(now: 2500))
        #expect(h.ejections == 0, "counted by the loop that decided it")
        // The next local ejection doubles: the fleet saw one already.
        #expect(h.recordFailure(now: 3000, maxFails: 1, failTimeoutMs: 2000) == 4000)
    }
}
