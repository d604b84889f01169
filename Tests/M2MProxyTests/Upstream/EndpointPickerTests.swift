import Testing
@testable import M2MProxy

@Suite struct EndpointPickerTests {
    private func picks(_ n: Int, count: Int, policy: BalancePolicy = .roundRobin, avoid: Int? = nil,
                       ejected: Set<Int> = [], load: [Int] = []) -> [Int] {
        var p = EndpointPicker(seed: 42)
        return (0..<n).map { _ in
            p.pick(count: count, policy: policy, avoid: avoid, ejected: { ejected.contains($0) },
                   load: { load.isEmpty ? 0 : load[$0] })
        }
    }

    @Test func roundRobinTakesEachInTurn() {
        #expect(picks(7, count: 3) == [0, 1, 2, 0, 1, 2, 0])
        #expect(picks(3, count: 1) == [0, 0, 0])
    }

    @Test func ejectedEndpointsAreSkipped() {
        #expect(picks(4, count: 3, ejected: [1]) == [0, 2, 0, 2])
    }

    @Test func allEjectedAreAllTried() {
        #expect(picks(4, count: 3, ejected: [0, 1, 2]) == [0, 1, 2, 0])
    }

    @Test func avoidTakesAnotherOne() {
        #expect(!picks(20, count: 3, avoid: 1).contains(1))
        #expect(!picks(20, count: 3, policy: .leastRequest, avoid: 1).contains(1))
        // Only the avoided one is eligible: another one (ejected) is still preferred to it.
        #expect(picks(2, count: 2, avoid: 0, ejected: [1]) == [1, 1])
        #expect(picks(2, count: 1, avoid: 0) == [0, 0])
    }

    @Test func aFailoverPickKeepsTheTurn() {
        var p = EndpointPicker(seed: 1)
        func pick(_ avoid: Int?) -> Int {
            p.pick(count: 3, policy: .roundRobin, avoid: avoid, ejected: { _ in false }, load: { _ in 0 })
        }
        #expect(pick(nil) == 0)
        #expect(pick(0) == 1)
        #expect(pick(nil) == 1)
        #expect(pick(nil) == 2)
    }

    @Test func leastRequestPrefersTheLessLoaded() {
        let chosen = picks(400, count: 4, policy: .leastRequest, load: [9, 0, 9, 9])
        // Endpoint 1 wins every draw it is in: with two of four drawn, half of the draws.
        let ones = chosen.filter { $0 == 1 }.count
        #expect(ones > 150 && ones < 250, "\(ones)")
        // The most loaded never beats a less loaded one it is drawn with.
        let skewed = picks(400, count: 3, policy: .leastRequest, load: [0, 1, 5])
        #expect(!skewed.contains(2))
    }

    @Test func leastRequestSpreadsEqualLoad() {
        let chosen = picks(3000, count: 3, policy: .leastRequest)
        for i in 0..<3 {
            let n = chosen.filter { $0 == i }.count
            #expect(n > 800 && n < 1200, "endpoint \(i): \(n)")
        }
    }

    @Test func leastRequestSkipsEjected() {
        let chosen = picks(200, count: 3, policy: .leastRequest, ejected: [0])
        #expect(!chosen.contains(0))
        #expect(Set(chosen) == [1, 2])
    }
}
