import Testing
@testable import M2MProxy

/// DESIGN.md §4's table in one place: status, code, connection handling, JSON body.
@Suite struct ProxyErrorTests {
    /// Every case (a new one fails `everyCaseIsInTheTable` until it is added here).
    static let cases: [(ProxyError, Int, String, Bool, ProxyError.Source)] = [
        (.badRequest("x"), 400, "bad_request", true, .client),
        (.headerTooLarge, 431, "header_too_large", true, .client),
        (.bodyTooLarge, 413, "body_too_large", true, .client),
        (.requestTimeout, 408, "request_timeout", true, .client),
        (.noRoute, 404, "no_route", false, .client),
        (.forbidden, 403, "forbidden", false, .client),
        (.methodNotAllowed("x"), 405, "method_not_allowed", true, .client),
        (.overloaded, 503, "overloaded", false, .proxy),
        (.upstreamBusy(limit: 4), 503, "overloaded", false, .proxy),
        (.upstreamUnavailable("x"), 502, "upstream_unavailable", false, .upstream),
        (.upstreamTimeout("x"), 504, "upstream_timeout", false, .upstream),
        (.tokenUnavailable("x", retryAfterSeconds: 3), 503, "token_unavailable", false, .tokenEndpoint),
        (.grpcNeedsHTTP2(clientSide: true), 505, "grpc_needs_http2", false, .client),
        (.grpcNeedsHTTP2(clientSide: false), 502, "grpc_needs_http2", false, .proxy),
    ]

    @Test(arguments: cases)
    func table(_ e: ProxyError, status: Int, code: String, closes: Bool, source: ProxyError.Source) {
        #expect(e.status == status)
        #expect(e.code == code)
        #expect(e.closesConnection == closes)
        #expect(e.source == source)
        #expect(!e.message.isEmpty)
        #expect(e.reasonPhrase != "Error", "a status without its reason phrase")
        let text = String(decoding: e.responseBytes(keepAlive: !closes), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 \(status) \(e.reasonPhrase)\r\n"))
        #expect(text.contains("\"error\":\"\(code)\""))
        #expect(text.contains("Retry-After: ") == (status == 503))
    }

    @Test func everyCaseIsInTheTable() {
        // The switch has no default: a new case does not compile until it is listed here, and
        // the table above must then name it too.
        func index(_ e: ProxyError) -> Int {
            switch e {
            case .badRequest: 0
            case .headerTooLarge: 1
            case .bodyTooLarge: 2
            case .requestTimeout: 3
            case .noRoute: 4
            case .forbidden: 5
            case .overloaded: 6
            case .upstreamBusy: 7
            case .upstreamUnavailable: 8
            case .upstreamTimeout: 9
            case .tokenUnavailable: 10
            case .methodNotAllowed: 11
            case .grpcNeedsHTTP2: 12
            }
        }
        #expect(Set(Self.cases.map { index($0.0) }) == Set(0...12))
    }

    @Test(arguments: UpstreamErrorKind.allCases)
    func upstreamFailureBecomes504OnlyForTimeouts(_ kind: UpstreamErrorKind) {
        let e = ProxyError(upstream: kind, message: "m")
        #expect(e.status == (kind == .connectTimeout || kind == .responseTimeout || kind == .readTimeout ? 504 : 502))
        #expect(e.source == .upstream)
        #expect(e.message == "m")
    }

    @Test func tokenFailureBecomes503WithItsRetryAfter() {
        let e = ProxyError(TokenFailure(message: "token endpoint unreachable", retryAfterSeconds: 7))
        #expect(e == .tokenUnavailable("token endpoint unreachable", retryAfterSeconds: 7))
        let text = String(decoding: e.responseBytes(keepAlive: true), as: UTF8.self)
        #expect(text.contains("Retry-After: 7\r\n"))
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
