import Testing
@testable import M2MProxy

/// DESIGN.md §4's table in one place: status, code, connection handling, JSON body.
@Suite struct ProxyErrorTests {
    @Test(arguments: [
        (ProxyError.badRequest("x"), 400, "bad_request", true),
        (.headerTooLarge, 431, "header_too_large", true),
        (.bodyTooLarge, 413, "body_too_large", true),
        (.requestTimeout, 408, "request_timeout", true),
        (.noRoute, 404, "no_route", false),
        (.upstreamUnavailable("x"), 502, "upstream_unavailable", false),
        (.upstreamTimeout("x"), 504, "upstream_timeout", false),
        (.tokenUnavailable("x", retryAfterSeconds: 3), 503, "token_unavailable", false),
    ])
    func table(_ e: ProxyError, status: Int, code: String, closes: Bool) {
        #expect(e.status == status)
        #expect(e.code == code)
        #expect(e.closesConnection == closes)
    }

    @Test func responseIsJSONWithRetryAfterFor503() {
        let text = String(decoding: ProxyError.tokenUnavailable("invalid_client \"x\"", retryAfterSeconds: 30).responseBytes(keepAlive: true), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(text.contains("Content-Type: application/json\r\n"))
        #expect(text.contains("Retry-After: 30\r\n"))
        #expect(!text.contains("Connection: close"))
        #expect(text.hasSuffix("{\"error\":\"token_unavailable\",\"message\":\"invalid_client \\\"x\\\"\"}"))
        let body = text.split(separator: "\r\n\r\n", maxSplits: 1)[1]
        #expect(text.contains("Content-Length: \(body.utf8.count)\r\n"))
    }

    @Test func closingResponseSaysSo() {
        let text = String(decoding: ProxyError.badRequest("bad").responseBytes(keepAlive: false), as: UTF8.self)
        #expect(text.contains("Connection: close\r\n"))
    }
}
