/// One client connection: reads requests with llhttp, routes them, obtains a token, forwards the
/// request to an upstream connection and streams the response back (the driver of the phases;
/// STYLE.md §6). All per-request state lives in fields reset per request: nothing is allocated
/// per request in steady state.
///
/// Requests on one connection are handled one at a time; pipelined requests wait in the head
/// buffer, so responses go out in order (RFC 9112 §9.3.2).
///
/// This file keeps the connection's state machine and its I/O events; the phases of a request
/// are in files named after them, in order: `+RequestValidation`, `+RouteSelection`,
/// `+TokenAcquisition`, `+UpstreamSelection`, `+UpstreamRequestHead` (with `+RequestBody`),
/// `+Response` and `+ResponseHeadRewrite`, `+RetryDecision`, `+Logging`; `+Errors` answers
/// failures, `+Exchange` ends a request and starts the next, `+Tunnel` serves upgrades.
final class ClientConnection: UpstreamClient {
    enum State {
        /// Keep-alive, between requests (idle timeout).
        case idle
        /// Some bytes of a head received (header timeout).
        case readingHead
        /// Parked in the token cache (token_wait_ms).
        case waitingToken
        /// Waiting for an upstream connection (its own connect timeout applies).
        case connectingUpstream
        /// Queued in the upstream pool, which is at the route's `max_upstream_connections`
        /// (connect_timeout_ms).
        case waitingUpstream
        /// Request head sent; body and/or response streaming.
        case forwarding
        /// After a 101: bytes pass through both ways until either side closes.
        case tunnel
        /// A response is being flushed before the connection closes.
        case closing
        /// HTTP/2 (prior knowledge): frames go to `h2`, streams run on inner connections.
        case http2
    }

    var state: State = .idle
    /// Its header table is the head buffer's (lent while a request is in progress).
    let parser = HTTPParser(kind: .request, maxHeaders: 0)
    /// Per-connection head buffer, taken from the loop's pool while a request is in progress
    /// (an idle keep-alive connection holds none). The head is parsed in place, so header spans
    /// stay valid until the request ends; pipelined bytes wait here too. It also carries the
    /// request's header spans and kinds (`BufferPool`): see `takeHead`/`giveHead`.
    private(set) var head: UnsafeMutableRawPointer?
    var headCount = 0
    var headParsed = 0
    var headEnd = 0
    /// Offset of the next pipelined request's first byte in `head`, or -1.
    var nextStart = -1
    /// End of the request body bytes that were forwarded out of `head` (kept for a retry).
    var forwardedFromHead = 0
    /// `X-Forwarded-For: <ip>\r\n` and `, <ip>\r\n`, formatted once per connection.
    private(set) var xffLine: StaticBytes
    private(set) var xffSuffix: StaticBytes
    private(set) var clientIP = ""
    /// The TCP peer, for allow_cidrs and trusted_proxies.
    private(set) var peer = IPAddress(isIPv6: false, hi: 0, lo: 0)
    /// Kind of each header of the current request, classified once (then of the response's).
    /// Valid while `head` is held: the table is part of the head buffer.
    var kinds: UnsafeMutablePointer<HeaderKind> { kindTable.unsafelyUnwrapped }
    private var kindTable: UnsafeMutablePointer<HeaderKind>?
    var connectionTokens = ConnectionTokens()
    /// The logging phase's notes on the current request (`+Logging.swift`).
    let reqLog = RequestLog()
    /// Set once the connection switched to HTTP/2 (`H2Connection`).
    var h2: H2Connection?
    /// The client reached the TLS listener (an HTTP/2 stream's inner connection: its parent
    /// did), for X-Forwarded-Proto.
    private(set) var clientOverTLS = false
    /// A response deadline the client asked for (an HTTP/2 stream's `grpc-timeout`, set by
    /// `H2StreamBridge`; its inner connection carries that one request): 0 = none.
    var clientDeadlineMs = 0

    // MARK: per-request state (reset in `resetRequest`)
    /// The matched route, unretained: a route lives as long as its router, which the worker
    /// never frees (replaced ones are retired). The data path borrows it with
    /// `_withUnsafeGuaranteedRef` (an `unowned(unsafe)` optional cost a retain/release pair at
    /// every `guard let`); `route` is for the rest.
    var routeRef: Unmanaged<CompiledRoute>? = nil
    var route: CompiledRoute? { routeRef?.takeUnretainedValue() }
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
    /// `Upgrade` with `Connection: upgrade`: forwarded, and a 101 turns the exchange into a tunnel.
    var upgradeRequested = false
    /// Absolute-form target with a query but no path ("http://h?q"): "/" is sent before it.
    var absoluteQueryOnly = false
    /// The request's authority (Host header value, or absolute-form authority).
    var authority = ByteSpan.empty
    /// Origin-form target (path and query) to forward.
    var target = ByteSpan.empty
    var xffCount = 0
    /// The exchange's upstream connection, borrowed on the data path through `upstreamRef`.
    /// While set, the connection's handles are open, and they keep it alive anyway until their
    /// close callbacks run on a later loop turn.
    private var upstreamOwner = OwnedRef<UpstreamConnection>()
    var upstreamRef: Unmanaged<UpstreamConnection>? { upstreamOwner.unmanaged }
    var upstream: UpstreamConnection? {
        get { upstreamOwner.object }
        set { upstreamOwner.object = newValue }
    }

    /// `c === upstream` without ARC.
    @inline(__always)
    func isUpstream(_ c: UpstreamConnection) -> Bool { upstreamOwner.holds(c) }
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
    var requestActive = false
    /// Requests begun on this connection (limits.max_requests_per_connection).
    var requestsServed = 0
    var responseConnectionTokens = ConnectionTokens()
    /// Closing after FIN while discarding what the client still sends.
    var lingering = false
    /// The client half-closed after a complete request: answer what it sent, then close.
    var clientEOF = false
    /// Pipelined requests wait until the client drains its pending responses.
    var waitingForClientDrain = false
    /// Position in the worker's connection list, -1 when not listed.
    var clientIndex = -1
    /// finishExchange → parseHead → … → finishExchange would recurse once per pipelined request
    /// answered without an upstream (404s): a loop runs them instead.
    var parsingPipelined = false
    var pipelinedPending = false

    /// Strong and a `let`, like `UVStream.io`: read on the data path without retain/release.
    let worker: Worker

    init(worker: Worker) {
        self.worker = worker
        parser.isForbiddenTrailer = RequestValidation.isForbiddenTrailerName
        xffLine = worker.statics.empty
        xffSuffix = worker.statics.empty
        super.init(io: worker.io)
    }

    deinit {
        if let head { worker.pool.give(headBuffer: head) }
    }

    /// A request begins: the head buffer and the per-request tables in it come from the pool.
    func takeHead() {
        let pool = worker.pool
        let h = pool.takeHeadBuffer()
        head = h
        kindTable = pool.headerKinds(in: h)
        parser.lendHeaders(pool.headerSpans(in: h), capacity: BufferPool.headerSlots)
    }

    /// Idle keep-alive (nothing buffered): back to the pool, so an idle connection holds only
    /// its handles and small fields.
    func giveHead() {
        guard let h = head else { return }
        head = nil
        kindTable = nil
        parser.returnHeaders()
        worker.pool.give(headBuffer: h)
    }

    /// Called by the listener once accepted.
    func start() {
        setNoDelay()
        let address = peerAddress()
        clientIP = address?.ipString ?? "unknown"
        if let address { peer = address.ipAddress }
        xffLine = StaticBytes("X-Forwarded-For: \(clientIP)\r\n")
        xffSuffix = StaticBytes(", \(clientIP)\r\n")
        clientOverTLS = isTLS
        state = .idle
        // A TLS handshake (and the first request after it) must finish within
        // header_timeout_ms, as nginx's client_header_timeout bounds it: a client that opens
        // TLS connections and stalls them must not hold them for idle_timeout_ms.
        startTimer(ms: isTLS ? worker.limits.headerTimeoutMs : worker.limits.idleTimeoutMs)
        startReading()
    }

    /// The inner end of an HTTP/2 stream's pair: the peer is `parent`'s.
    func start(streamOf parent: ClientConnection) {
        clientIP = parent.clientIP
        peer = parent.peer
        xffLine = parent.xffLine
        xffSuffix = parent.xffSuffix
        clientOverTLS = parent.clientOverTLS
        reqLog.http2 = true
        state = .idle
        startTimer(ms: worker.limits.idleTimeoutMs)
        startReading()
    }

    // MARK: events from libuv

    override func onRead(_ data: UnsafeRawBufferPointer) {
        switch state {
        case .idle:
            if requestsServed == 0 && isTLS && tlsAgreedH2 { return startHTTP2(first: data) }
            state = .readingHead
            noteRequestBegan()
            startTimer(ms: worker.limits.headerTimeoutMs)
            appendHead(data)
        case .readingHead:
            appendHead(data)
        case .forwarding where !bodyDone:
            processRequestBytes(data.baseAddress!, data.count, fromSocket: true, forward: true)
        case .tunnel:
            tunnelFromClient(data.baseAddress!, data.count)
        case .http2:
            h2.unsafelyUnwrapped.received(data)
        default:
            // The client keeps being read while its request waits (token, connect) or its
            // response streams: stopping and restarting reads costs two epoll_ctl calls per
            // request. What arrives meanwhile waits in the head buffer.
            stash(data)
        }
    }

    override func onReadEnd(_ error: UVError) {
        switch state {
        case .idle, .closing:
            close()
        case .http2:
            h2?.finish()
            close()
        case .readingHead:
            if waitingForClientDrain && error == .eof {
                clientEOF = true
            } else {
                close()
            }
        case .waitingToken, .waitingUpstream, .connectingUpstream, .forwarding:
            if error == .eof && responseHeadSent {
                // The response is under way: a half-closed client still reads it (and a gone
                // one makes the next write fail).
                clientEOF = true
            } else {
                // Closed or reset before its response began: the client is gone. A FIN after a
                // complete request could be a half-close, but nginx (proxy_ignore_client_abort
                // off) and Envoy treat it as an abort too; answering it would keep the upstream
                // busy for a reader that usually is not there (README "Clients that leave").
                clientGone()
            }
        case .tunnel:
            if let u = upstream {
                upstream = nil
                u.abandon()
            }
            endRequest()
            closeWhenFlushed()
        default:
            abort()
        }
    }

    override func onTimer() {
        switch state {
        case .idle, .closing:
            close()
        case .tunnel:
            tunnelIdleExpired()
        case .http2:
            http2Idle()
        case .forwarding where upstreamPausedForClient:
            // The client stopped reading its response for idle_timeout_ms: give up rather than
            // hold two connections and their buffers forever.
            abort()
        case .readingHead where waitingForClientDrain:
            abort()
        case .readingHead:
            respond(.requestTimeout)
        case .waitingToken:
            if let slot = route?.tokenSlot { worker.tokens.unpark(self, slot: slot) }
            respond(ProxyError(worker.tokens.waitTimeoutFailure(slot: route?.tokenSlot ?? 0, waitedMs: worker.limits.tokenWaitMs)))
        case .waitingUpstream:
            guard let route else { return abort() }
            guard let pool = reqLog.endpoint else { return abort() }
            pool.dequeue(self)
            respond(.upstreamBusy(limit: pool.maxConnections))
        case .forwarding where !bodyDone:
            respond(.requestTimeout)
        default:
            break
        }
    }

    override func onWriteDone(_ error: UVError?) {
        if error != nil {
            abort()
            return
        }
        if state == .closing {
            if pendingWrites == 0 && !lingering { close() }
            return
        }
        if state == .http2 {
            h2?.flush()
            return
        }
        if waitingForClientDrain {
            if writeQueueSize <= Worker.lowWater {
                waitingForClientDrain = false
                startTimer(ms: worker.limits.headerTimeoutMs)
                resumeReadingIfRoom()
                parseHead()
            } else {
                startTimer(ms: worker.limits.idleTimeoutMs)
            }
            return
        }
        guard upstreamPausedForClient, let u = upstream else { return }
        if writeQueueSize <= Worker.lowWater {
            // The client drained: let the upstream's response flow again.
            upstreamPausedForClient = false
            u.startReading()
            if state != .tunnel {
                startReadTimer(u)
                if bodyDone { stopTimer() }
            } else {
                tunnelActive()
            }
        } else if state == .tunnel {
            tunnelActive()
        } else {
            // Progress: the client reads, slowly. Its send deadline moves.
            startTimer(ms: worker.limits.idleTimeoutMs)
        }
    }

    override func onClosed() {
        h2?.finish()
        h2 = nil
        if state == .waitingUpstream { reqLog.endpoint?.dequeue(self) }
        if let u = upstream {
            upstream = nil
            u.abandon()
        }
        endRequest()
        worker.connectionClosed(self)
    }

    // MARK: events from the exchange's upstream connection (`UpstreamClient`), handled by the
    // phases (`+UpstreamSelection`, `+Response`). Overrides cannot live in extensions.

    override func upstreamReady(_ c: UpstreamConnection) { onUpstreamReady(c) }
    override func upstreamFailed(_ c: UpstreamConnection, _ message: String) { onUpstreamFailed(c, message) }
    override func upstreamTimedOut(_ c: UpstreamConnection) { onUpstreamTimedOut(c) }
    override func upstreamData(_ c: UpstreamConnection, _ data: UnsafeRawBufferPointer) { onUpstreamData(c, data) }
    override func upstreamEnded(_ c: UpstreamConnection, _ error: UVError) { onUpstreamEnded(c, error) }
    override func upstreamWriteFailed(_ c: UpstreamConnection, _ error: UVError) { onUpstreamWriteFailed(c, error) }
    override func upstreamWriteDrained(_ c: UpstreamConnection) { onUpstreamWriteDrained(c) }

    /// Answers 503 `overloaded` and closes (the worker is at max_connections).
    func refuseOverloaded() {
        clientIndex = -1
        let bytes = ProxyError.overloaded.responseBytes(keepAlive: false)
        _ = bytes.withUnsafeBytes { write($0.baseAddress!, $0.count) }
        closeWhenFlushed(linger: true)
    }

    /// Shutdown: an idle connection closes now; a busy one after its current response.
    func drain() {
        keepAlive = false
        if state == .idle { close() }
        if state == .http2 { h2?.goAway() }
    }

    // MARK: lifecycle helpers

    /// Drops everything now: the exchange cannot be completed (client gone, framing broken).
    func abort() {
        reqLog.aborted = true
        if state == .waitingToken, let slot = route?.tokenSlot {
            worker.tokens.unpark(self, slot: slot)
        }
        if state == .waitingUpstream { reqLog.endpoint?.dequeue(self) }
        if let u = upstream {
            upstream = nil
            u.abandon()
        }
        endRequest()
        close()
    }
}
