/// The state of one request on a connection (pingora's per-request `CTX`): what the phases
/// decide and read, from the parsed head to the logged response. It lives inline in its
/// `ClientConnection` (`request`), so a request allocates nothing for it; `reset()` readies it
/// for the next request on the connection. Plain values only: no handle, no socket, so the
/// phases (`ProxyPhases`) run over it in unit tests, and an HTTP/2 stream can carry one too.
///
/// What outlives a request (the state machine, the head buffer, the peer, pipelining, the
/// request count) stays on the connection.
struct RequestContext {
    /// The matched route, unretained: a route lives as long as its router, which the worker
    /// never frees (replaced ones are retired). The data path borrows it with
    /// `_withUnsafeGuaranteedRef` (an `unowned(unsafe)` optional cost a retain/release pair at
    /// every `guard let`); `route` is for the rest.
    var routeRef: Unmanaged<CompiledRoute>? = nil
    var route: CompiledRoute? { routeRef?.takeUnretainedValue() }
    /// Who sent the request: the TCP peer of its connection, for allow_cidrs and
    /// trusted_proxies. Set once per connection, and kept by `reset()` (copying it per request
    /// cost instructions; callgrind).
    var peer = IPAddress(isIPv6: false, hi: 0, lo: 0)
    /// The head is parsed and the request counted (`worker.requestStarted`): `logging` runs once
    /// when it ends.
    var requestActive = false
    var keepAlive = true
    var http10 = false
    var isHEAD = false
    var hasBody = false
    var bodyDone = false
    /// Request bytes after the head run through the parser, framing included (the access log's
    /// bytes in, and the chunk-framing bound).
    var bodyBytes: UInt64 = 0
    var expectContinue = false
    /// Cleans chunk lines of a chunked request body before llhttp and the upstream see them.
    var chunkLines = ChunkLineNormalizer()
    var absoluteForm = false
    /// Headers of the request head (the parser may append chunked trailers after them).
    var requestHeaderCount = 0
    /// The Host header value as sent (empty when absent), for X-Forwarded-Host.
    var hostHeader = ByteSpan.empty
    /// The buffered part of the request (head leftovers) went through the parser once.
    var bufferedBytesProcessed = false
    /// Some request bytes reached the upstream connection (a retry is then only safe for
    /// idempotent methods).
    var requestBytesSent = false
    var methodCode = 0
    /// The token the forwarded head carried (for a 401 replay), and whether it was replayed.
    var sentToken: UInt64?
    /// Loop time by which a parked request gets its token or a 503 (0 = never parked).
    var tokenWaitDeadline: UInt64 = 0
    var replayed = false
    /// Token acquisition found the route's token usable and the request goes on within that
    /// same call (`awaitToken`): a send now needs no second check.
    var tokenJustAcquired = false
    /// `Upgrade` with `Connection: upgrade`: forwarded, and a 101 turns the exchange into a tunnel.
    var upgradeRequested = false
    /// Absolute-form target with a query but no path ("http://h?q"): "/" is sent before it.
    var absoluteQueryOnly = false
    /// The request's authority (Host header value, or absolute-form authority).
    var authority = ByteSpan.empty
    /// Origin-form target (path and query) to forward.
    var target = ByteSpan.empty
    var xffCount = 0
    var bodyFromSocket = false
    var retried = false
    /// Endpoint failover of the request in progress (`ClientConnection+UpstreamSelection.swift`).
    var failover = UpstreamFailover()
    var responseHeadSent = false
    var responseHeadStart = 0
    var responseHeadParsed = 0
    /// `llhttp_message_needs_eof` of the response, taken when its head is sent.
    var responseNeedsEOF = false
    var clientWillClose = false
    var dechunk = false
    var upstreamPausedForClient = false
    var clientPausedForUpstream = false
    var connectionTokens = ConnectionTokens()
    var responseConnectionTokens = ConnectionTokens()

    /// Ready for the next request on the connection (`peer` stays). Field by field rather than `self = .init()`:
    /// the token tables and the chunk scanner keep their storage and only reset their counts
    /// (a fresh value stores every slot again, per request). A new field gets its line here;
    /// `RequestContextTests` compares a reset context with a fresh one.
    @inline(__always)
    mutating func reset() {
        routeRef = nil
        requestActive = false
        keepAlive = true
        http10 = false
        isHEAD = false
        hasBody = false
        bodyDone = false
        bodyBytes = 0
        expectContinue = false
        chunkLines.reset()
        absoluteForm = false
        requestHeaderCount = 0
        hostHeader = .empty
        bufferedBytesProcessed = false
        requestBytesSent = false
        methodCode = 0
        sentToken = nil
        tokenWaitDeadline = 0
        replayed = false
        tokenJustAcquired = false
        upgradeRequested = false
        absoluteQueryOnly = false
        authority = .empty
        target = .empty
        xffCount = 0
        bodyFromSocket = false
        retried = false
        failover = UpstreamFailover()
        responseHeadSent = false
        responseHeadStart = 0
        responseHeadParsed = 0
        responseNeedsEOF = false
        clientWillClose = false
        dechunk = false
        upstreamPausedForClient = false
        clientPausedForUpstream = false
        connectionTokens.reset()
        responseConnectionTokens.reset()
    }
}
