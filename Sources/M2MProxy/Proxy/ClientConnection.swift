/// One client connection: reads requests with llhttp, forwards them to an upstream connection
/// and streams the responses back. It is the HTTP/1.1 `ProxySession`: `ProxyDriver` runs the
/// phases (STYLE.md §6) at its events and asks it for I/O. All per-request state lives in
/// `request` (a `RequestContext`), reset per request: nothing is allocated per request in
/// steady state.
///
/// Requests on one connection are handled one at a time; pipelined requests wait in the head
/// buffer, so responses go out in order (RFC 9112 §9.3.2).
///
/// This file keeps the connection's state machine and its I/O events; the I/O of each phase is
/// in a file named after it, in order: `+RequestValidation` (then the driver's `requestFilter`,
/// `ReverseProxyPhases+RequestValidation` and `+RouteSelection`), `+TokenAcquisition`,
/// `+UpstreamSelection`, `+SendRequest` (the head `ReverseProxyPhases+UpstreamRequestHead`
/// builds; with `+RequestBody`), `+Response` (the head `ReverseProxyPhases+ResponseHeadRewrite`
/// builds), `+Retry` (what `ReverseProxyPhases+RetryDecision` decides), `+Logging`; `+Errors`
/// answers failures, `+Exchange` ends a request and starts the next, `+Tunnel` serves upgrades.
/// An HTTP/2 stream's inner connection may get its request head as values instead of bytes
/// (`+StreamRequest`); from `beginRequest` on it is served as any other.
final class ClientConnection: UpstreamClient, ProxySession {
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
    /// The TCP peer, for allow_cidrs and trusted_proxies (kept in `request`, which the phases read).
    var peer: IPAddress { request.peer }
    /// Kind of each header of the current request, classified once (then of the response's).
    /// Valid while `head` is held: the table is part of the head buffer.
    var kinds: UnsafeMutablePointer<HeaderKind> { kindTable.unsafelyUnwrapped }
    private var kindTable: UnsafeMutablePointer<HeaderKind>?
    /// The logging phase's notes on the current request (`+Logging.swift`).
    let reqLog = RequestLog()
    /// The phases this connection runs, in order (`ProxyDriver`): an empty value, built where
    /// it is used.
    @inline(__always) var driver: ProxyDriver<ReverseProxyPhases> { ProxyDriver(phases: ReverseProxyPhases()) }
    var requestLog: RequestLog { reqLog }
    /// Set once the connection switched to HTTP/2 (`H2Connection`).
    var h2: H2Connection?
    /// The client reached the TLS listener (an HTTP/2 stream's inner connection: its parent
    /// did), for X-Forwarded-Proto.
    private(set) var clientOverTLS = false
    /// A response deadline the client asked for (an HTTP/2 stream's `grpc-timeout`, set by
    /// `H2StreamBridge`; its inner connection carries that one request): 0 = none.
    var clientDeadlineMs = 0
    /// An HTTP/2 stream's inner connection hands its response to the stream's bridge (fields,
    /// payload, trailers: `+StreamResponse`) instead of writing HTTP/1.1 bytes. Not retained, and
    /// not weak (a weak reference costs a side table and slow retains on the data path); not an
    /// `unowned(unsafe)` optional either, whose nil test the HTTP/1.1 path paid as a
    /// `swift_retain` call at each site: the bridge owns this connection and clears this in
    /// `abandon` before it lets the connection go.
    var responseSink: Unmanaged<H2StreamBridge>?
    /// The current request's head came as values without a body (`beginStreamRequest`), not
    /// through the parser: llhttp's state is not a message's until `prepareForHeadBytes`.
    var headGiven = false
    /// Whether the current request is gRPC's, when its head came as values
    /// (`H2RequestHead.isGRPC`, the same test over the same fields); nil: scan its headers
    /// (`isGRPCRequest`).
    var grpcGiven: Bool?
    /// The HTTP/2 stream whose body comes by direct calls (`takeStreamBody`), told when this
    /// connection reads its body again (`startReadingBody`). Set and cleared by that bridge,
    /// which outlives it being set.
    unowned(unsafe) var streamBody: H2StreamBridge?

    /// The request in progress: everything the phases decide and read, reset per request
    /// (`resetRequest`). Inline in the connection, so a request allocates nothing for it.
    var request = RequestContext()
    /// The matched route (`request.routeRef`, retained for the call).
    var route: CompiledRoute? { request.route }
    /// The exchange's upstream connection, borrowed on the data path through `upstreamRef`.
    /// While set, the connection's handles are open, and they keep it alive anyway until their
    /// close callbacks run on a later loop turn.
    private var upstreamOwner = OwnedRef<UpstreamConnection>()
    var upstreamRef: Unmanaged<UpstreamConnection>? { upstreamOwner.unmanaged }
    var upstream: UpstreamConnection? {
        get { upstreamOwner.object }
        set { upstreamOwner.object = newValue }
    }

    /// Sets `upstream` to a connection retained for it already (`UpstreamPool.takeIdle`).
    func adoptUpstream(_ c: Unmanaged<UpstreamConnection>) { upstreamOwner.adopt(c) }

    /// `upstream = nil` without the release: the caller owns the reference now (and hands it
    /// on, as `responseComplete` does to the pool's idle list).
    func takeUpstream() -> Unmanaged<UpstreamConnection>? { upstreamOwner.take() }

    /// `c === upstream` without ARC.
    @inline(__always)
    func isUpstream(_ c: UpstreamConnection) -> Bool { upstreamOwner.holds(c) }
    /// Requests begun on this connection (limits.max_requests_per_connection).
    var requestsServed = 0
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
        parser.completesBodylessHeads = true
        xffLine = worker.statics.empty
        xffSuffix = worker.statics.empty
        super.init(io: worker.io)
    }

    deinit {
        if let head { worker.pool.give(headBuffer: head) }
    }

    /// A request begins: the head buffer and the per-request tables in it come from the pool.
    func takeHead() {
        // Borrowed (`poolRef`): `worker.pool` cost a retain/release pair here and in `giveHead`.
        let h = worker.poolRef._withUnsafeGuaranteedRef { pool in
            let h = pool.takeHeadBuffer()
            // Binding is free at run time; the table's slots fit a `HeaderKind` (`HeaderKindTests`).
            kindTable = pool.headerKinds(in: h).bindMemory(to: HeaderKind.self, capacity: BufferPool.headerSlots)
            parser.lendHeaders(pool.headerSpans(in: h), capacity: BufferPool.headerSlots)
            return h
        }
        head = h
    }

    /// Idle keep-alive (nothing buffered): back to the pool, so an idle connection holds only
    /// its handles and small fields.
    func giveHead() {
        guard let h = head else { return }
        head = nil
        kindTable = nil
        parser.returnHeaders()
        worker.poolRef._withUnsafeGuaranteedRef { $0.give(headBuffer: h) }
    }

    /// Called by the listener once accepted.
    func start() {
        setNoDelay()
        let address = peerAddress()
        clientIP = address?.ipString ?? "unknown"
        if let address { request.peer = address.ipAddress }
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
        request.peer = parent.peer
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
        case .forwarding where !request.bodyDone:
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
            if error == .eof && request.responseHeadSent {
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
        case .forwarding where request.upstreamPausedForClient:
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
            guard route != nil, let pool = reqLog.endpoint else { return abort() }
            pool.dequeue(self)
            respond(.upstreamBusy(limit: pool.maxConnections))
        case .forwarding where !request.bodyDone:
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
        guard request.upstreamPausedForClient, let u = upstream else { return }
        if writeQueueSize <= Worker.lowWater {
            // The client drained: let the upstream's response flow again.
            request.upstreamPausedForClient = false
            u.startReading()
            if state != .tunnel {
                startReadTimer(u)
                if request.bodyDone { stopTimer() }
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
    override func upstreamReplaced(_ pending: UpstreamConnection, by c: UpstreamConnection) -> Bool { onUpstreamReplaced(pending, by: c) }
    override func upstreamFailed(_ c: UpstreamConnection, _ message: String) { onUpstreamFailed(c, message) }
    override func upstreamFellBackToHTTP1(_ c: UpstreamConnection) -> Bool { onUpstreamFellBackToHTTP1(c) }
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

    /// The request's body waits in the kernel until it can be forwarded.
    func holdRequestBody() { stopReading() }

    /// Shutdown: an idle connection closes now; a busy one after its current response.
    func drain() {
        request.keepAlive = false
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
