/// The retry and replay rules as plain functions over values (no connection), unit-tested in
/// `RetryDecisionTests`; the `retryDecision` phase (`ReverseProxyPhases+RetryDecision`) applies
/// them to a request.
enum RetryDecision {
    /// The upstream may close a pooled connection while it sits idle, and a request can cross
    /// its FIN. One retry on a fresh connection is safe when the failed connection had served
    /// requests before (a fresh one failing is the upstream's answer), no response byte came,
    /// and nothing of the request can have been acted on: nothing was sent, or the method is
    /// idempotent (RFC 9110 §9.2.2); and every byte to re-send is still held (no body bytes
    /// streamed from the socket).
    static func mayRetryOnFreshConnection(
        responseStarted: Bool, connectionReused: Bool, bodyStreamed: Bool, alreadyRetried: Bool,
        requestBytesSent: Bool, method: Int
    ) -> Bool {
        guard !responseStarted, connectionReused, !bodyStreamed, !alreadyRetried else { return false }
        return !requestBytesSent || isIdempotent(method)
    }

    /// An HTTP/2 upstream refused the request's stream (REFUSED_STREAM, or the stream was above
    /// a GOAWAY's last stream id): the server guarantees it did not process it (RFC 9113 §8.7),
    /// so one retry on a new connection is safe for any method, fresh connection or not, as
    /// long as no response byte came and every byte to re-send is still held.
    static func mayRetryRefusedStream(responseStarted: Bool, bodyStreamed: Bool, alreadyRetried: Bool) -> Bool {
        !responseStarted && !bodyStreamed && !alreadyRetried
    }

    /// GET, HEAD, PUT, DELETE, OPTIONS, TRACE (llhttp method codes).
    static func isIdempotent(_ code: Int) -> Bool {
        code == 0 || code == 1 || code == 2 || code == 4 || code == 6 || code == 7
    }

    /// DESIGN.md §5: a 401 asks for a replay with a fresh token only when a `WWW-Authenticate`
    /// header says `invalid_token`.
    static func saysInvalidToken(headers: UnsafeMutablePointer<HeaderSpan>, count: Int) -> Bool {
        for i in 0..<count where headers[i].name.equalsLowercase("www-authenticate") {
            if headers[i].value.contains("invalid_token") { return true }
        }
        return false
    }
}
