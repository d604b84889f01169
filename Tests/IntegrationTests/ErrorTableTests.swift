import Foundation
import Testing

/// Every row of DESIGN.md §4's error table: status, `Content-Type: application/json`,
/// `{"error","message"}`, and what happens to the connection.
@Suite struct ErrorTableTests {
    /// Checks the common shape of the proxy's own error answers.
    static func expectProxyError(_ r: HTTPResponse, _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(r.summary)", sourceLocation: sourceLocation)
        #expect(r.header("Content-Type")?.hasPrefix("application/json") == true, "\(r.summary)", sourceLocation: sourceLocation)
        #expect(r.errorCode == code, "\(r.summary)", sourceLocation: sourceLocation)
        #expect(r.errorMessage?.isEmpty == false, "no message: \(r.summary)", sourceLocation: sourceLocation)
    }

    static func plainBed(limits: [String: Int] = [:], upstream: ((UpstreamFixture) -> String)? = nil) throws -> ProxyTestBed {
        try ProxyTestBed(label: "errors") { c, up, _ in
            c.limits = limits
            c.routes = [.init(upstream: upstream?(up) ?? up.url)]
        }
    }

    /// Sends `raw` and expects a 400 bad_request followed by the server closing.
    static func expectBadRequest(_ raw: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bed = try plainBed()
        let c = try bed.connect()
        try c.send(raw)
        let r = try c.readResponse()
        expectProxyError(r, 400, "bad_request", sourceLocation: sourceLocation)
        #expect(try c.waitForPeerClose(timeout: 5), "400 must close the connection", sourceLocation: sourceLocation)
        #expect(try bed.upstream.requests().isEmpty, "a bad request must not reach the upstream", sourceLocation: sourceLocation)
    }

    // MARK: 400

    @Test func malformedRequestLine() throws {
        try Self.expectBadRequest("THIS IS NOT HTTP\r\n\r\n")
    }

    @Test func malformedHeaderLine() throws {
        try Self.expectBadRequest("GET / HTTP/1.1\r\nHost client.test\r\n\r\n")
    }

    @Test func contentLengthAndTransferEncoding() throws {
        try Self.expectBadRequest(
            "POST /echo HTTP/1.1\r\nHost: client.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    }

    @Test func conflictingContentLength() throws {
        try Self.expectBadRequest("POST /echo HTTP/1.1\r\nHost: client.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
    }

    @Test func badChunking() throws {
        let bed = try Self.plainBed()
        let c = try bed.connect()
        try c.send("POST /echo HTTP/1.1\r\nHost: client.test\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n")
        // The head may already be on its way upstream; the client must still get a 400 and a close.
        let r = try c.readResponse()
        Self.expectProxyError(r, 400, "bad_request")
        #expect(try c.waitForPeerClose(timeout: 5))
    }

    // MARK: 431, 413, 408

    @Test func headerTooLarge() throws {
        let bed = try Self.plainBed(limits: ["max_header_bytes": 4096])
        let c = try bed.connect()
        try c.send("GET / HTTP/1.1\r\nHost: client.test\r\nX-Big: \(String(repeating: "a", count: 8192))\r\n\r\n")
        Self.expectProxyError(try c.readResponse(), 431, "header_too_large")
        #expect(try bed.upstream.requests().isEmpty)
    }

    @Test func bodyTooLargeByContentLength() throws {
        let bed = try Self.plainBed(limits: ["max_body_bytes": 1000])
        let c = try bed.connect()
        // Only the head is sent: the answer must come before any body is read or forwarded.
        try c.send("POST /echo HTTP/1.1\r\nHost: client.test\r\nContent-Length: 5000\r\n\r\n")
        Self.expectProxyError(try c.readResponse(), 413, "body_too_large")
        #expect(try bed.upstream.requests().isEmpty)
    }

    /// 413 for a 20 MB Content-Length (default max_body_bytes, 10 MiB) while the client keeps
    /// uploading from another thread: the proxy must close gracefully, FIN after the answer and
    /// then read and discard for a while, not close a socket with unread input (which sends RST
    /// and, where the answer is still in flight, destroys it). Observed from outside: once the
    /// proxy has ended its side, its socket is in FIN-WAIT (a reset one is gone at once), the
    /// client's writes are still accepted, and the whole 413 is readable (review finding 6).
    @Test func bodyTooLargeWhileTheClientKeepsSending() throws {
        let bed = try Self.plainBed()
        let size = 20_000_000
        let c = try bed.connect()
        let first = Array(PatternStream.block.prefix(65_536))
        try c.send(Array("POST /echo HTTP/1.1\r\nHost: client.test\r\nContent-Length: \(size)\r\n\r\n".utf8) + first)
        let sender = BackgroundSender(on: c, count: size - first.count)
        defer { sender.stop() }
        // Read nothing until the proxy is done with its side of the connection.
        let clientPort = c.localPort
        var state: Int? = TCPTable.established
        try Wait.until("the proxy to end its side of the connection", timeout: 5) {
            state = try TCPTable.state(localPort: bed.proxy.port, remotePort: clientPort)
            return state != TCPTable.established
        }
        #expect(state == TCPTable.finWait1 || state == TCPTable.finWait2,
                "the proxy's socket is in state \(state.map { String($0, radix: 16) } ?? "gone (reset)"), not FIN-WAIT: no lingering close")
        let r = try c.readResponse(timeout: 5)
        Self.expectProxyError(r, 413, "body_too_large")
        #expect(r.saysClose, "\(r.summary)")
        #expect(sender.error == nil, "the client's upload was refused while the proxy should linger: \(sender.error ?? "")")
        sender.stop()
        #expect(try bed.upstream.requests().isEmpty)
        // Once the client is done, the lingering close ends too.
        c.shutdownWrite()
        #expect(try c.waitForPeerClose(timeout: 4))
    }

    @Test func headTooSlow() throws {
        let bed = try Self.plainBed(limits: ["header_timeout_ms": 300])
        let c = try bed.connect()
        let start = Date()
        try c.send("GET /slow-head HTTP/1.1\r\nHost: client.test\r\n")
        let r = try c.readResponse(timeout: 5)
        Self.expectProxyError(r, 408, "request_timeout")
        #expect(Date().timeIntervalSince(start) < 3)
        #expect(try bed.upstream.requests().isEmpty)
    }

    @Test func bodyTooSlow() throws {
        let bed = try Self.plainBed(limits: ["body_timeout_ms": 300])
        let c = try bed.connect()
        try c.send("POST /echo HTTP/1.1\r\nHost: client.test\r\nContent-Length: 10\r\n\r\nabc")
        Self.expectProxyError(try c.readResponse(timeout: 5), 408, "request_timeout")
    }

    // MARK: 502, 504

    @Test func upstreamRefused() throws {
        let dead = try FreePort.pick()
        let bed = try Self.plainBed { _ in "http://127.0.0.1:\(dead)" }
        Self.expectProxyError(try bed.get("/x"), 502, "upstream_unavailable")
    }

    @Test(arguments: ["/reset", "/reset?fin=1"])
    func upstreamResetBeforeResponse(path: String) throws {
        let bed = try Self.plainBed()
        Self.expectProxyError(try bed.get(path), 502, "upstream_unavailable")
    }

    @Test func upstreamConnectTimeout() throws {
        // Connects to this port hang (full accept queue); see BlackholeListener for why not 10.255.255.1.
        let hole = try BlackholeListener()
        let bed = try Self.plainBed(limits: ["connect_timeout_ms": 300]) { _ in "http://127.0.0.1:\(hole.port)" }
        let start = Date()
        Self.expectProxyError(try bed.get("/x"), 504, "upstream_timeout")
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func upstreamResponseTimeout() throws {
        let bed = try Self.plainBed(limits: ["response_timeout_ms": 500])
        let start = Date()
        Self.expectProxyError(try bed.get("/hang"), 504, "upstream_timeout")
        #expect(Date().timeIntervalSince(start) < 5)
    }

    // MARK: 503 token_unavailable

    static func tokenBed(_ mode: TokenMode, tokenWaitMs: Int = 1000, tokenURL: String? = nil) throws -> ProxyTestBed {
        try ProxyTestBed(tokenMode: mode, label: "token-errors") { c, up, tok in
            c.limits = ["token_wait_ms": tokenWaitMs]
            var cred = ProxyTestBed.credential(tok)
            if let tokenURL { cred.tokenURL = tokenURL }
            c.credentials = [cred]
            c.routes = [.init(upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
    }

    /// 503 token_unavailable with a Retry-After header; returns the message.
    @discardableResult
    static func expectTokenUnavailable(_ r: HTTPResponse, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        expectProxyError(r, 503, "token_unavailable", sourceLocation: sourceLocation)
        #expect(r.header("Retry-After") != nil, "503 needs Retry-After: \(r.summary)", sourceLocation: sourceLocation)
        return r.errorMessage ?? ""
    }

    @Test func tokenEndpointDown() throws {
        let dead = try FreePort.pick()
        let bed = try Self.tokenBed(TokenMode(), tokenURL: "http://127.0.0.1:\(dead)/oidc/token")
        Self.expectTokenUnavailable(try bed.get("/x"))
        #expect(try bed.upstream.requests().isEmpty)
    }

    @Test func tokenEndpointInvalidClient() throws {
        let bed = try Self.tokenBed(TokenMode(status: 401, error: "invalid_client"))
        let message = Self.expectTokenUnavailable(try bed.get("/x"))
        #expect(message.contains("invalid_client"), "message: \(message)")
        #expect(try bed.upstream.requests().isEmpty)
    }

    @Test func tokenEndpointInvalidTarget() throws {
        let bed = try Self.tokenBed(TokenMode(status: 400, error: "invalid_target"))
        let message = Self.expectTokenUnavailable(try bed.get("/x"))
        #expect(message.contains("invalid_target"), "message: \(message)")
    }

    @Test func tokenEndpointBare403() throws {
        // Glewlwyd's answer to a bad secret: 403 with an empty body.
        let bed = try Self.tokenBed(TokenMode(status: 403, body: ""))
        Self.expectTokenUnavailable(try bed.get("/x"))
    }

    @Test func tokenEndpointRateLimited() throws {
        let bed = try Self.tokenBed(TokenMode(status: 429, retryAfter: "5", error: "too_many_requests"))
        let message = Self.expectTokenUnavailable(try bed.get("/x"))
        #expect(message.contains("429"), "message: \(message)")
    }

    @Test func tokenEndpointSlowerThanTokenWait() throws {
        let bed = try Self.tokenBed(TokenMode(delayMs: 3000), tokenWaitMs: 500)
        let start = Date()
        let message = Self.expectTokenUnavailable(try bed.get("/x"))
        #expect(Date().timeIntervalSince(start) < 2.5, "answer due after token_wait_ms")
        let m = message.lowercased()
        #expect(m.contains("timeout") || m.contains("timed out"), "message: \(message)")
    }

    @Test func tokenEndpointGarbage200() throws {
        let bed = try Self.tokenBed(TokenMode(body: "this is not json"))
        Self.expectTokenUnavailable(try bed.get("/x"))
        #expect(try bed.upstream.requests().isEmpty)
    }

    @Test func tokenEndpoint200WithoutAccessToken() throws {
        let bed = try Self.tokenBed(TokenMode(body: "{\"token_type\":\"Bearer\",\"expires_in\":3600}"))
        Self.expectTokenUnavailable(try bed.get("/x"))
    }
}
