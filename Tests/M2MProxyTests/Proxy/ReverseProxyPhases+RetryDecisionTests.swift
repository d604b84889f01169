import Testing
@testable import M2MProxy

/// The retry and replay decision over a request's context, without a connection: which verdict
/// each setback gets (the rules themselves: `RetryDecisionTests`).
@Suite struct RetryDecisionPhaseTests {
    private let phases = ReverseProxyPhases()
    nonisolated(unsafe) private static let tokenRoute = ProxyDriverTests.route(tokenSlot: 2)
    nonisolated(unsafe) private static let plainRoute = ProxyDriverTests.route(tokenSlot: nil)

    /// A GET whose head went out on `route` (with its token when it has one), body held whole.
    private static func sent(_ route: CompiledRoute = tokenRoute, method: Int = 1) -> RequestContext {
        var ctx = RequestContext()
        ctx.routeRef = Unmanaged.passUnretained(route)
        ctx.methodCode = method
        ctx.bodyDone = true
        ctx.requestBytesSent = true
        if route.tokenSlot != nil { ctx.sentToken = 42 }
        return ctx
    }

    private func lost(_ ctx: RequestContext, reused: Bool = true, responseBytes: Bool = false) -> RetryVerdict {
        var ctx = ctx
        return phases.retryDecision(&ctx, after: .connectionLost(reused: reused, responseBytesReceived: responseBytes))
    }

    @Test func lostReusedConnectionIsRetriedOnceBeforeAnyResponse() {
        var ctx = Self.sent()
        #expect(lost(ctx) == .retryOnFreshConnection)
        #expect(lost(ctx, reused: false) == .fail)
        #expect(lost(ctx, responseBytes: true) == .fail)
        ctx.retried = true
        #expect(lost(ctx) == .fail)
        ctx.retried = false
        ctx.responseHeadSent = true
        #expect(lost(ctx) == .fail)
    }

    /// RFC 9113 §8.7: a refused HTTP/2 stream was not processed, so even a POST that went out
    /// on a fresh connection is sent again, once, while its bytes are held.
    @Test func refusedStreamIsRetriedOnceForAnyMethod() {
        func refused(_ ctx: RequestContext, responseBytes: Bool = false) -> RetryVerdict {
            var ctx = ctx
            return phases.retryDecision(&ctx, after: .streamRefused(responseBytesReceived: responseBytes))
        }
        var post = Self.sent(method: 3)
        #expect(refused(post) == .retryOnFreshConnection)
        #expect(refused(post, responseBytes: true) == .fail)
        post.retried = true
        #expect(refused(post) == .fail)
        var streamed = Self.sent(method: 3)
        streamed.bodyFromSocket = true
        #expect(refused(streamed) == .fail)
    }

    @Test func lostPostIsRetriedOnlyWhenNothingWasSentOrStreamed() {
        var post = Self.sent(method: 3)
        #expect(lost(post) == .fail)
        post.requestBytesSent = false
        #expect(lost(post) == .retryOnFreshConnection)
        var streamed = Self.sent()
        streamed.bodyFromSocket = true
        #expect(lost(streamed) == .fail)
    }

    private func connectFailed(
        _ ctx: inout RequestContext, reused: Bool = false, timedOut: Bool = false, alternatives: Bool = true, now: UInt64 = 100
    ) -> RetryVerdict {
        phases.retryDecision(&ctx, after: .connectFailed(reused: reused, timedOut: timedOut, hasAlternatives: alternatives, now: now, retries: 2))
    }

    @Test func failedConnectFailsOverWhileRetriesAndTimeLast() {
        var ctx = Self.sent()
        ctx.requestBytesSent = false
        _ = ctx.failover.budgetMs(now: 100, connectTimeoutMs: 50)
        #expect(connectFailed(&ctx) == .retryOnFreshConnection)
        #expect(connectFailed(&ctx) == .retryOnFreshConnection)
        // `limits.retries` = 2: spent.
        #expect(connectFailed(&ctx) == .fail)
        #expect(ctx.failover.tries == 2)

        var late = Self.sent()
        _ = late.failover.budgetMs(now: 100, connectTimeoutMs: 50)
        #expect(connectFailed(&late, now: 150) == .fail)
        #expect(connectFailed(&late, timedOut: true) == .fail)
        #expect(connectFailed(&late, alternatives: false) == .fail)
        #expect(connectFailed(&late, reused: true) == .fail)
        #expect(late.failover.tries == 0)
    }

    /// Runs `check` with the header spans of `text`, a response head.
    private static func withHeaders(_ text: String, _ check: (UnsafeMutablePointer<HeaderSpan>, Int) -> Void) {
        let parser = HTTPParser(kind: .response)
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { b in
            guard case .headersComplete = parser.execute(b.baseAddress!, b.count) else {
                Issue.record("head did not parse: \(text)")
                return
            }
            check(parser.headers, parser.headerCount)
        }
    }

    static let invalidToken = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error=\"invalid_token\"\r\nContent-Length: 0\r\n\r\n"

    @Test func invalidTokenIsReplayedOnceWithAFreshToken() {
        Self.withHeaders(Self.invalidToken) { headers, count in
            var ctx = Self.sent()
            #expect(phases.retryDecision(&ctx, after: .unauthorized(headers: headers, count: count)) == .replayWithFreshToken)
            ctx.replayed = true
            #expect(phases.retryDecision(&ctx, after: .unauthorized(headers: headers, count: count)) == .fail)
            // The body is no longer held whole: the 401 goes to the client.
            var streamed = Self.sent()
            streamed.bodyFromSocket = true
            #expect(phases.retryDecision(&streamed, after: .unauthorized(headers: headers, count: count)) == .fail)
            var partial = Self.sent()
            partial.bodyDone = false
            #expect(phases.retryDecision(&partial, after: .unauthorized(headers: headers, count: count)) == .fail)
            // Not our token: a route without a credential passes the 401 on.
            var plain = Self.sent(Self.plainRoute)
            #expect(phases.retryDecision(&plain, after: .unauthorized(headers: headers, count: count)) == .fail)
        }
    }

    @Test func otherUnauthorizedResponsesAreForwarded() {
        Self.withHeaders("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error=\"insufficient_scope\"\r\nContent-Length: 0\r\n\r\n") { headers, count in
            var ctx = Self.sent()
            #expect(phases.retryDecision(&ctx, after: .unauthorized(headers: headers, count: count)) == .fail)
        }
    }

    /// Phases that do not decide retries let every setback stand.
    @Test func theDefaultIsNoRetry() {
        struct NoRetries: ProxyPhases {}
        var ctx = Self.sent()
        #expect(NoRetries().retryDecision(&ctx, after: .connectionLost(reused: true, responseBytesReceived: false)) == .fail)
    }
}
