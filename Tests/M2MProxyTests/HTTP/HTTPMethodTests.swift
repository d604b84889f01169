import Testing
@testable import M2MProxy

@Suite struct HTTPMethodTests {
    @Test func codesAreLlhttps() {
        #expect(HTTPMethod.code(named: "DELETE") == 0)
        #expect(HTTPMethod.code(named: "GET") == 1)
        #expect(HTTPMethod.code(named: "QUERY") == 46)
        // 0...33 (HTTP) and QUERY; no PRI, no RTSP-only methods.
        #expect(HTTPMethod.codes.count == 35)
    }

    @Test(arguments: ["FOO", "PRI", "DESCRIBE", "FLUSH", "get", ""])
    func unknownNames(name: String) {
        #expect(HTTPMethod.code(named: name) == nil)
    }
}
