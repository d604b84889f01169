import Testing
@testable import M2MProxy

@Suite struct IdleCapPolicyTests {
    @Test func aHardCapWhileThePoolIsNotShort() {
        let p = IdleCapPolicy()
        #expect(p.keeps(idleCount: 1, maxIdle: 2))
        #expect(!p.keeps(idleCount: 2, maxIdle: 2))
    }

    @Test func zeroKeepsNothingEvenWhenShort() {
        var p = IdleCapPolicy()
        p.noteShort()
        #expect(!p.keeps(idleCount: 0, maxIdle: 0))
    }

    /// Short in this period or the last: connections beyond the cap stay idle; two quiet
    /// periods later they do not.
    @Test func beyondTheCapWhileShort() {
        var p = IdleCapPolicy()
        p.noteShort()
        #expect(p.keeps(idleCount: 50, maxIdle: 2))
        _ = p.trim(idleCount: 50, maxIdle: 2)
        #expect(p.keeps(idleCount: 50, maxIdle: 2))
        _ = p.trim(idleCount: 50, maxIdle: 2)
        #expect(!p.keeps(idleCount: 50, maxIdle: 2))
    }

    /// A tick closes only the surplus no request took since the previous tick.
    @Test func trimClosesWhatStayedUnused() {
        var p = IdleCapPolicy()
        #expect(p.trim(idleCount: 10, maxIdle: 2) == 0, "the first tick has seen no full period")
        // 10 idle at the tick; requests took them down to 4 at the lowest, then they came back.
        p.noteIdle(6)
        p.noteIdle(4)
        #expect(p.trim(idleCount: 10, maxIdle: 2) == 4, "4 stayed unused (the least recently used)")
        // 6 left; no request took any for a whole period: down to the cap.
        #expect(p.trim(idleCount: 6, maxIdle: 2) == 4)
        #expect(p.trim(idleCount: 2, maxIdle: 2) == 0)
    }
}
