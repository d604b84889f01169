import Testing
@testable import M2MProxy

/// `grpc-timeout` values from gRPC's PROTOCOL-HTTP2.md grammar.
@Suite struct GRPCTimeoutTests {
    private func ms(_ s: String) -> Int? {
        Array(s.utf8).withUnsafeBytes { GRPCTimeout.milliseconds($0) }
    }

    @Test func everyUnit() {
        #expect(ms("2H") == 7_200_000)
        #expect(ms("3M") == 180_000)
        #expect(ms("5S") == 5000)
        #expect(ms("250m") == 250)
        #expect(ms("1500u") == 2)      // rounded up
        #expect(ms("1000000n") == 1)
        #expect(ms("99999999S") == 99_999_999_000)  // 8 digits, the most allowed
    }

    @Test func zeroAndSubMillisecondAreOneMillisecond() {
        #expect(ms("0m") == 1)
        #expect(ms("1n") == 1)
    }

    @Test(arguments: ["", "m", "5", "5s", "5 S", "-5S", "123456789S", "5SS", "1.5S", "S5"])
    func malformedIsIgnored(_ value: String) {
        #expect(ms(value) == nil)
    }
}
