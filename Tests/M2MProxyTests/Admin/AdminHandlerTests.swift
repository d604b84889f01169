import Testing
@testable import M2MProxy

@Suite struct AdminHandlerTests {
    @Test func targetSplitting() {
        #expect(AdminHandler.split("/tokens/refresh?route=a") == ("/tokens/refresh", "route=a"))
        #expect(AdminHandler.split("/healthz") == ("/healthz", ""))
        #expect(AdminHandler.split("http://admin:9901/metrics?x") == ("/metrics", "x"))
    }

    @Test func queryValues() {
        #expect(AdminHandler.queryValue("route=shop", "route") == "shop")
        #expect(AdminHandler.queryValue("a=1&route=my%20route+x", "route") == "my route x")
        #expect(AdminHandler.queryValue("route", "route") == "")
        #expect(AdminHandler.queryValue("other=1", "route") == nil)
        #expect(AdminHandler.queryValue("route=%zz%4", "route") == "%zz%4")
    }

    @Test func responseHead() {
        let r = AdminResponse.error(404, "not_found", "x")
        let text = String(decoding: r.bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 35\r\n"))
        #expect(text.contains("Connection: close\r\n"))
        #expect(text.hasSuffix("\r\n\r\n{\"error\":\"not_found\",\"message\":\"x\"}"))
    }
}
