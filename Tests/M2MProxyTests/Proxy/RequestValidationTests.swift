import Testing
@testable import M2MProxy

/// Request validation's pure checks, without a connection.
@Suite struct RequestValidationTests {
    private func with<R>(_ text: String, _ body: (ByteSpan) -> R) -> R {
        var b = Array(text.utf8)
        return b.withUnsafeMutableBytes { body(ByteSpan(base: $0.baseAddress!, count: $0.count)) }
    }

    @Test(arguments: [
        "/a/../b", "/a/./b", "/..", "/.", "/a/%2e%2e/b", "/a/%2E./b", "/a/.%2e", "/a%2f..%2fb",
        "/a\\..\\b", "/a/%5c../b", "/a/..;x/b",
    ])
    func dotSegmentsAreFound(_ path: String) {
        #expect(with(path) { RequestValidation.hasDotSegment($0) }, "\(path)")
    }

    @Test(arguments: ["/", "/a/b", "/a/...", "/a/.b", "/a/b.", "/v1.2/x", "/%2e%2e%2e", "/a%20b", "/a;x/b"])
    func ordinaryPathsPass(_ path: String) {
        #expect(!with(path) { RequestValidation.hasDotSegment($0) }, "\(path)")
    }

    @Test func forbiddenTrailerNames() {
        for n in ["Authorization", "proxy-authorization", "Host", "Content-Length", "Transfer-Encoding", "Connection"] {
            #expect(with(n) { RequestValidation.isForbiddenTrailerName($0) }, "\(n)")
        }
        for n in ["X-Checksum", "Server-Timing", "Expires"] {
            #expect(!with(n) { RequestValidation.isForbiddenTrailerName($0) }, "\(n)")
        }
    }
}
