/// The one HTTP/2 connection of an endpoint on one loop (DESIGN.md §7: `h2c://`, or https with
/// `http2 = true` when ALPN agrees), opened lazily by the first request and carrying every
/// request to the endpoint as a stream. Each request still runs on an ordinary
/// `UpstreamConnection`, which is given one end of an in-process stream pair instead of a
/// socket; the other end is an `H2UpstreamStream` that turns the HTTP/1.1 exchange into a
/// stream of this session. So retries, timeouts, ejection and blame are those of HTTP/1.1.
///
/// Failures: a connection that cannot be made fails the waiting requests with the usual
/// upstream error kinds (their connect failed); one lost later ends every stream's pair, which
/// the requests see as the upstream closing. After a GOAWAY, or a stream refused with
/// REFUSED_STREAM, the pool forgets this session (new requests open another connection) while
/// in-flight streams finish here; a refused stream's request was not processed and is sent
/// again once (RFC 9113 §8.7, `RetryDecision.mayRetryRefusedStream`).
final class H2UpstreamSession: UVStream, H2ClientSessionDelegate, UpstreamDialer {
    enum State { case resolving, connecting, ready, closed }

    unowned(unsafe) let pool: UpstreamPool
    let h2: H2ClientSession
    private(set) var state = State.resolving
    /// Requests waiting for the connection (their `UpstreamConnection`s, still "connecting").
    private var waiting: [UpstreamConnection] = []
    private var streams: [Int32: H2UpstreamStream] = [:]
    /// GOAWAY received or sent: no new stream starts here.
    private(set) var goingAway = false
    private var connectTimeoutMs = 0
    /// `:scheme` of every request.
    let scheme: [UInt8]

    init?(pool: UpstreamPool) {
        guard let s = H2ClientSession(maxHeaderListSize: pool.env.limits.maxHeaderBytes, memory: pool.io.h2Memory) else { return nil }
        self.pool = pool
        h2 = s
        scheme = Array((pool.tlsSettings == nil ? "http" : "https").utf8)
        super.init(io: pool.io)
        s.delegate = self
    }

    /// Can take one more request now or once connected.
    var acceptsStreams: Bool { !goingAway && state != .closed && !isClosing }

    /// Connects (the first request's connect budget bounds it).
    func open(budgetMs: Int) {
        connectTimeoutMs = budgetMs
        startTimer(ms: budgetMs)
        resolveAndConnect()
    }

    var isResolving: Bool { state == .resolving }

    func markConnecting() { state = .connecting }

    /// A request for this endpoint: bridged at once when connected, else when the connection is.
    func attach(_ c: UpstreamConnection) {
        if state == .ready {
            bridge(c)
        } else {
            waiting.append(c)
        }
    }

    private func bridge(_ c: UpstreamConnection) {
        guard !c.isClosing else { return }
        guard let (a, b) = UVStream.socketPair() else {
            c.bridgeFailed("cannot create an HTTP/2 stream pair (out of file descriptors)", kind: .connectFailed)
            return
        }
        let s = H2UpstreamStream(session: self)
        s.exchange = c
        guard s.adopt(fd: b) else {
            UVStream.discard(fd: a)
            c.bridgeFailed("cannot open an HTTP/2 stream pair", kind: .connectFailed)
            s.close()
            return
        }
        s.startReading()
        c.bridged(fd: a)
    }

    override func onTLSSession(_ session: TLSResumption) {
        pool.tlsSessions.store(session)
    }

    override func onConnect(_ error: UVError?) {
        guard state == .connecting, !isClosing, connectSucceeded(error) else { return }
        if isTLS && !tlsNegotiatedH2 {
            // The server did not agree to h2: this endpoint speaks HTTP/1.1 (DESIGN.md §7).
            pool.http2FellBack(self)
            let w = waiting
            waiting = []
            state = .closed
            close()
            for c in w where !c.isClosing { c.bridgeFellBack() }
            return
        }
        setNoDelay()
        stopTimer()
        state = .ready
        startReading()
        flush()
        let w = waiting
        waiting = []
        for c in w { bridge(c) }
    }

    override func onTimer() {
        if state == .resolving || state == .connecting {
            fail("upstream connect timed out after \(connectTimeoutMs) ms", kind: .connectTimeout)
        }
    }

    /// Shutdown or the address left DNS: no new stream; closed once the open ones are done.
    func finish() {
        goingAway = true
        if state == .ready {
            flush()
        } else if state != .closed && waiting.isEmpty {
            state = .closed
            close()
        }
    }

    // MARK: streams (called by H2UpstreamStream)

    /// Submits the request built in `h2.fields`; the stream id, or nil when none may start.
    func start(_ s: H2UpstreamStream, noBody: Bool) -> Int32? {
        guard state == .ready, !goingAway, let id = h2.submitRequest(noBody: noBody) else { return nil }
        streams[id] = s
        flush()
        return id
    }

    func resumeBody(_ id: Int32) {
        h2.resumeBody(id)
        flush()
    }

    func consume(_ id: Int32, _ count: Int) {
        h2.consume(id, count)
        flush()
    }

    /// The request's side went away before the stream ended: the upstream is told at once.
    func cancel(_ id: Int32) {
        guard streams.removeValue(forKey: id) != nil else { return }
        h2.resetStream(id, code: 8)  // CANCEL
        flush()
        closeIfDone()
    }

    // MARK: I/O

    /// Sends what nghttp2 has ready while the socket keeps up (`onWriteDone` resumes).
    func flush() {
        guard state == .ready, !isClosing else { return }
        while writeQueueSize <= LoopIO.highWater {
            var wrote = false
            var failed = false
            h2.flush { p, n in
                if write(p, n) != nil { failed = true }
                wrote = true
            }
            if failed {
                lost("upstream HTTP/2 connection failed while writing")
                return
            }
            if !wrote { break }
        }
        closeIfDone()
    }

    override func onWriteDone(_ error: UVError?) {
        if let error, error != .ecanceled {
            lost("upstream HTTP/2 connection failed: \(error.message)")
            return
        }
        flush()
    }

    override func onRead(_ data: UnsafeRawBufferPointer) {
        guard state == .ready else { return }
        if !h2.receive(data) {
            flush()
            lost("upstream HTTP/2 protocol error")
            return
        }
        flush()
    }

    override func onReadEnd(_ error: UVError) {
        if goingAway && streams.isEmpty {
            // The close that follows a GOAWAY once its streams are done: nothing was lost.
            state = .closed
            close()
            return
        }
        lost(error == .eof ? "upstream closed the HTTP/2 connection" : "upstream HTTP/2 connection failed: \(error.message)")
    }

    private func closeIfDone() {
        if state == .ready && streams.isEmpty && (goingAway || !h2.isAlive) && pendingWrites == 0 {
            state = .closed
            pool.http2SessionGone(self)
            close()
        }
    }

    /// Before the connection was up: every waiting request fails as a connect failure would.
    func fail(_ message: String, kind: UpstreamErrorKind) {
        state = .closed
        pool.http2SessionGone(self)
        let w = waiting
        waiting = []
        close()
        if w.isEmpty { pool.noteFailure() }
        for c in w where !c.isClosing { c.bridgeFailed(message, kind: kind) }
    }

    /// After it was up: every stream's pair ends, which its request sees as the upstream
    /// closing (a 502, or a cut response).
    private func lost(_ message: String) {
        guard state != .closed else { return }
        state = .closed
        pool.http2SessionGone(self)
        pool.env.log.warning("upstream \(pool.label): \(message)")
        let all = streams.values
        streams.removeAll()
        close()
        for s in all { s.sessionLost() }
    }

    // MARK: H2ClientSessionDelegate

    func h2Field(_ id: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, trailer: Bool) {
        streams[id]?.field(name: name, value: value, trailer: trailer)
    }

    func h2ResponseHead(_ id: Int32, endStream: Bool) {
        streams[id]?.responseHead(endStream: endStream)
    }

    func h2Data(_ id: Int32, _ data: UnsafeRawBufferPointer) {
        guard let s = streams[id] else {
            h2.consume(id, data.count)
            return
        }
        if s.data(data) { h2.consume(id, data.count) }
    }

    func h2ResponseEnded(_ id: Int32, trailers: Bool) {
        streams[id]?.responseEnded()
    }

    func h2ReadBody(_ id: Int32, into: UnsafeMutableRawBufferPointer) -> (count: Int, eof: Bool)? {
        guard let s = streams[id] else { return (0, true) }
        return s.readRequestBody(into: into)
    }

    func h2StreamClosed(_ id: Int32, errorCode: UInt32) {
        guard let s = streams.removeValue(forKey: id) else { return }
        if errorCode == H2UpstreamStream.refusedStream && !goingAway {
            // Refused without a GOAWAY (a server shutting down, or over a stream limit it just
            // lowered): this connection is not taking work. New streams, and the retry of this
            // one, go to a new connection; the open ones finish here.
            goingAway = true
            pool.http2SessionGone(self)
        }
        s.streamClosed(errorCode: errorCode)
    }

    func h2GoAway() {
        goingAway = true
        pool.http2SessionGone(self)
    }
}
