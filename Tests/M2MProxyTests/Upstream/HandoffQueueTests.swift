import Testing
@testable import M2MProxy

@Suite struct HandoffQueueTests {
    final class Pending: HandoffCandidate {
        let id: Int
        var awaitsHandoff = true
        init(_ id: Int) { self.id = id }
    }

    @Test func oldestWaitingFirst() {
        var q = HandoffQueue<Pending>()
        let p = (0..<3).map(Pending.init)
        for x in p { q.append(x) }
        #expect(q.popWaiting()?.id == 0)
        #expect(q.popWaiting()?.id == 1)
        #expect(q.popWaiting()?.id == 2)
        #expect(q.popWaiting() == nil)
        #expect(q.isEmpty)
    }

    /// Connected, failed or abandoned by a client that left: skipped, never offered.
    @Test func entriesThatStoppedWaitingAreSkipped() {
        var q = HandoffQueue<Pending>()
        let p = (0..<4).map(Pending.init)
        for x in p { q.append(x) }
        p[0].awaitsHandoff = false
        p[2].awaitsHandoff = false
        #expect(q.popWaiting()?.id == 1)
        #expect(q.popWaiting()?.id == 3)
        #expect(q.popWaiting() == nil)
    }

    /// Connects that all complete on their own (e.g. an upstream that closes every connection,
    /// so nothing is ever handed over) do not pile up.
    @Test func staleEntriesDoNotAccumulate() {
        var q = HandoffQueue<Pending>()
        for i in 0..<1000 {
            let x = Pending(i)
            q.append(x)
            x.awaitsHandoff = false
        }
        #expect(q.count <= 1)
        let live = Pending(-1)
        q.append(live)
        for i in 0..<1000 {
            let x = Pending(i)
            q.append(x)
            x.awaitsHandoff = false
        }
        // Behind a connect still pending: bounded by the compaction once it is done.
        live.awaitsHandoff = false
        q.append(Pending(5000))
        #expect(q.count <= 2)
        #expect(q.popWaiting()?.id == 5000)
    }
}
