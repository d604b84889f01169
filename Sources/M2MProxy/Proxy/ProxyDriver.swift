/// Sequences the phases of one request (pingora `process_request`): the only code that knows
/// their order. The session (`ProxySession`: an HTTP/1.1 `ClientConnection` today) owns the
/// connection and its I/O and calls the driver at its events; the driver calls the phases over
/// the session's `RequestContext` and asks the session for I/O. Generic over both, never an
/// existential: specialised, the calls are direct (callgrind showed no cost).
///
///     head parsed ─▶ requestFilter ─▶ token acquisition (may park) ─▶ upstreamPeer
///        ─▶ upstreamRequestFilter ─▶ (upstream) ─▶ responseFilter ─▶ logging (once)
///                     ▲                  │
///                     └── retryDecision ◀┘  connect failed, connection lost, 401:
///                          fresh connection (upstreamPeer again) or fresh token
///
/// Each phase is a `ReverseProxyPhases+<Phase>` file; the session's I/O around it is in
/// `ClientConnection+<Phase>` (or `+SendRequest`, `+Response`, `+Retry`).
struct ProxyDriver<Phases: ProxyPhases> {
    let phases: Phases

    /// The request head is parsed: filter it, then get its token or its upstream.
    @inline(__always)
    func requestHeadComplete<S: ProxySession, E: ProxyEnvironment>(_ s: S, _ head: RequestHead, _ env: E) {
        let outcome = phases.requestFilter(&s.request, head, s.requestLog, env)
        if s.request.hasBody {
            // Body bytes wait in the kernel until the request can be forwarded: the head buffer
            // only ever holds the head plus what arrived with it (bounded), and backpressure
            // reaches the client through TCP.
            s.holdRequestBody()
        }
        if case .respond(let error) = outcome {
            s.respond(error)
            return
        }
        guard let ref = s.request.routeRef else { return }
        if let slot = ref._withUnsafeGuaranteedRef({ $0.tokenSlot }) {
            // Token acquisition: ready now, or the session parks and calls `tokenAcquired`.
            s.awaitToken(slot: slot)
        } else {
            s.connectUpstream(avoid: nil)
        }
    }

    /// The route's token is in the cache (at once or after parking).
    @inline(__always)
    func tokenAcquired<S: ProxySession>(_ s: S) {
        s.connectUpstream(avoid: nil)
    }

    /// The endpoint of the next upstream attempt, noted for the access log.
    @inline(__always)
    func upstreamPeer<S: ProxySession>(_ s: S, _ cluster: UpstreamCluster, avoid: UpstreamPool?) -> Unmanaged<UpstreamPool> {
        phases.upstreamPeer(&s.request, cluster, avoid: avoid)
    }

    /// The upstream connection is ready: the request head to write, into `iov`.
    @inline(__always)
    func upstreamRequestFilter<S: ProxySession, L: UpstreamHeadLines>(
        _ s: S, _ head: RequestHead, _ up: L, _ log: RequestLog, _ lines: StaticLines,
        into iov: inout IOVecList
    ) {
        phases.upstreamRequestFilter(&s.request, head, up, log, lines, into: &iov)
    }

    /// The upstream's response head is parsed: the head to send the client, into `iov`.
    @inline(__always)
    func responseFilter<S: ProxySession>(_ s: S, _ r: UpstreamResponseHead, _ lines: StaticLines, into iov: inout IOVecList) {
        phases.responseFilter(&s.request, r, lines, into: &iov)
    }

    /// The same for an HTTP/2 stream: the fields to send the client, one by one.
    @inline(__always)
    func responseFilter<S: ProxySession>(_ s: S, _ r: UpstreamResponseHead, fields: (HeaderSpan) -> Void) {
        phases.responseFilter(&s.request, r, fields: fields)
    }
    /// A setback from the upstream: what the session does next.
    @inline(__always)
    func retryDecision<S: ProxySession>(_ s: S, after cause: RetryCause) -> RetryVerdict {
        phases.retryDecision(&s.request, after: cause)
    }

    /// The request is over (answered, cut or failed): logged exactly once. False when it had
    /// ended already (or never began).
    @inline(__always)
    func requestEnded<S: ProxySession>(_ s: S) -> Bool {
        guard s.request.requestActive else { return false }
        s.request.requestActive = false
        phases.logging(s.request, s.requestLog)
        s.logRequest()
        return true
    }
}

/// The I/O side of a request's phases: one per protocol stream (an HTTP/1.1 `ClientConnection`;
/// an HTTP/2 stream later). `ProxyDriver` calls these; the phases never do.
protocol ProxySession: AnyObject {
    var request: RequestContext { get set }
    var requestLog: RequestLog { get }
    /// Stop reading the client until the request can be forwarded.
    func holdRequestBody()
    /// Answers the request without an upstream.
    func respond(_ error: ProxyError)
    /// Continues with the route's token, or parks until the token cache has one (then
    /// `ProxyDriver.tokenAcquired`) or a failure (503).
    func awaitToken(slot: Int)
    /// Takes a pooled upstream connection, opens one, or queues for one.
    func connectUpstream(avoid: UpstreamPool?)
    /// Records the request in the loop's metrics and access log.
    func logRequest()
}
