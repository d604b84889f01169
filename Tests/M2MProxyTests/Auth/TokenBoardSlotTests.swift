import Foundation
import Testing
@testable import M2MProxy

/// The publication of tokens from the control loop to worker loops.
@Suite struct TokenBoardSlotTests {
    private func token(_ seq: UInt64) -> CachedToken {
        CachedToken(accessToken: Secret("t\(seq)"), fetchedAt: 1000, lifetimeSeconds: 3600, seq: seq)
    }

    @Test func aReaderSeesEachPublicationThroughTheVersion() {
        let slot = TokenBoardSlot()
        let empty = slot.read()
        #expect(empty.token == nil)
        slot.publish(token(1))
        #expect(slot.currentVersion != empty.version)
        let first = slot.read()
        #expect(first.token?.seq == 1)
        #expect(slot.currentVersion == first.version, "no change: the reader's copy stays valid")
        slot.publish(nil)
        #expect(slot.currentVersion != first.version)
        #expect(slot.read().token == nil)
    }

    @Test func useIsRecordedPerToken() {
        let slot = TokenBoardSlot()
        let t = token(7)
        slot.publish(t)
        #expect(slot.usedSeq.load(ordering: .relaxed) != 7)
        slot.noteUse(seq: t.seq)
        #expect(slot.usedSeq.load(ordering: .relaxed) == 7)
        // A newer token is not "used" until a request uses it: the refresh timer reads the
        // key as idle (usedSeq differs from the current token's seq) ...
        let newer = token(8)
        slot.publish(newer)
        #expect(slot.usedSeq.load(ordering: .relaxed) != slot.read().token?.seq)
        // ... until a request uses it.
        slot.noteUse(seq: newer.seq)
        #expect(slot.usedSeq.load(ordering: .relaxed) == slot.read().token?.seq)
    }

    /// One publisher, several reader threads (the worker loops): a reader that saw a version
    /// change always gets a token at least as new as the one before (run under
    /// ThreadSanitizer in CI, which also checks the publication is race-free).
    @Test func concurrentReadersSeeTokensInOrder() async {
        let slot = TokenBoardSlot()
        slot.publish(token(1))
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for seq in UInt64(2)...2000 { slot.publish(CachedToken(accessToken: Secret("t"), fetchedAt: 0, lifetimeSeconds: 60, seq: seq)) }
                return true
            }
            for _ in 0..<3 {
                group.addTask {
                    var last: UInt64 = 0
                    var version: UInt64 = .max
                    var token: CachedToken?
                    for _ in 0..<20000 {
                        if slot.currentVersion != version {
                            (token, version) = slot.read()
                        }
                        guard let t = token else { return false }
                        if t.seq < last { return false }
                        last = t.seq
                        _ = t.headerLine.count
                    }
                    return true
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}
