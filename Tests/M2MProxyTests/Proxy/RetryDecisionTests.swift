import Testing
@testable import M2MProxy

/// When a request may be sent again on a fresh upstream connection (RFC 9110 §9.2.2).
@Suite struct RetryDecisionTests {
    private let get = 1
    private let post = 3

    private func may(
        responseStarted: Bool = false, reused: Bool = true, streamed: Bool = false, retried: Bool = false,
        sent: Bool = true, method: Int
    ) -> Bool {
        RetryDecision.mayRetryOnFreshConnection(
            responseStarted: responseStarted, connectionReused: reused, bodyStreamed: streamed,
            alreadyRetried: retried, requestBytesSent: sent, method: method)
    }

    @Test func idempotentRequestOnAReusedConnectionIsRetriedOnce() {
        #expect(may(method: get))
        #expect(!may(retried: true, method: get))
    }

    @Test func postIsRetriedOnlyWhenNothingWasSent() {
        #expect(!may(sent: true, method: post))
        #expect(may(sent: false, method: post))
    }

    @Test func noRetryAfterResponseBytesOnAFreshConnectionOrWithAStreamedBody() {
        #expect(!may(responseStarted: true, method: get))
        #expect(!may(reused: false, method: get))
        #expect(!may(streamed: true, method: get))
    }

    /// RFC 9113 §8.7: a refused HTTP/2 stream was not processed, whatever its method.
    @Test func refusedStreamIsRetriedOnceWhileTheRequestIsHeld() {
        #expect(RetryDecision.mayRetryRefusedStream(responseStarted: false, bodyStreamed: false, alreadyRetried: false))
        #expect(!RetryDecision.mayRetryRefusedStream(responseStarted: false, bodyStreamed: false, alreadyRetried: true))
        #expect(!RetryDecision.mayRetryRefusedStream(responseStarted: true, bodyStreamed: false, alreadyRetried: false))
        #expect(!RetryDecision.mayRetryRefusedStream(responseStarted: false, bodyStreamed: true, alreadyRetried: false))
    }

    @Test func idempotentMethods() {
        // llhttp codes: DELETE 0, GET 1, HEAD 2, POST 3, PUT 4, CONNECT 5, OPTIONS 6, TRACE 7, PATCH 28.
        #expect([0, 1, 2, 4, 6, 7].allSatisfy(RetryDecision.isIdempotent))
        #expect(![3, 5, 28].contains(where: RetryDecision.isIdempotent))
    }
}
