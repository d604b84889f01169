/// One HTTP/2 stream carried as an exchange on an ordinary `ClientConnection` (which routes,
/// injects the token, forwards, logs and counts it like any request), the "inner" connection at
/// the other end of an in-process stream pair. Neither direction is parsed twice:
/// - The request's head (gathered in an `H2RequestHead`) goes to it as values: laid out straight
///   into its head buffer, no bytes through the pair, no parse
///   (`ClientConnection.beginStreamRequest`). The body follows by direct calls (`H2BodyPipe`) as
///   HTTP/1.1 bytes (DATA as they are, chunked when there is no content-length, with trailers as
///   chunked trailers), into a parser primed for it. A head only llhttp decides on goes into the
///   pair as bytes, its body after it.
/// - The response comes back directly: the inner connection is given this bridge as its
///   `responseSink` and hands it the status, the fields the response phase keeps, the
///   de-chunked payload and the trailers (`ClientConnection+StreamResponse`), which become
///   HEADERS, DATA and a trailing HEADERS; the proxy's own errors come as a `ProxyError`
///   (`answer`: a gRPC status for gRPC requests).
/// The pair is kept alive between exchanges (HTTP/1.1 keep-alive): once a stream ended cleanly
/// (its request handed over whole, its response ended with the inner connection idle), its
/// `H2Connection` keeps the bridge idle and hands it the connection's next stream (`recycle`),
/// so a stream costs no socket pair, no inner connection and no allocation of them.
final class H2StreamBridge: UVStream {
    private(set) var id: Int32
    /// This bridge's index in its connection's open streams while its stream is open.
    var slot = 0
    /// Not weak (a weak reference gives the connection a side table, and every retain of it the
    /// slow path): the connection owns its bridges, open or idle, and abandons each one (which
    /// clears this) in `finish`, before the client connection lets it go.
    ///
    /// Held as `Unmanaged` and borrowed per call (`_withUnsafeGuaranteedRef`): an
    /// `unowned(unsafe)` load still costs a retain and a release where it is passed on. The
    /// connection outlives every call into a bridge that still has it: the client connection
    /// drops it only in its close callback, which libuv runs on its own, never inside another.
    private var connectionRef: Unmanaged<H2Connection>?
    private var connection: H2Connection? { connectionRef?.takeUnretainedValue() }
    private let headerLimit: Int

    /// The request head, gathered from the HEADERS block.
    private let requestHead: H2RequestHead
    private var chunked = false
    /// When the head went as values, the body goes by direct calls through it, not the pair.
    private let pipe = H2BodyPipe()
    /// Request DATA bytes written but not yet acknowledged to the client (flow control).
    private var unconsumed = 0
    /// The head went into the pair: fields arriving now are the request's trailers.
    private var started = false
    /// The whole request went into the pair (END_STREAM seen).
    private var requestDone = false
    /// The response ended with its framing, not `connection: close`: the inner connection
    /// goes on to its next request.
    private var responseKeepAlive = false
    /// Request DATA bytes received, against a content-length (RFC 9113 §8.1.1).
    private var received: UInt64 = 0
    /// The stream was reset as malformed (`reject`): whatever still arrives for it is dropped.
    private(set) var rejected = false
    /// A trailer field broke RFC 9113's rules (`trailer`): the stream is rejected at its end.
    private var trailersMalformed = false
    /// Idle between streams, held by `H2Connection` for the next one.
    private(set) var parked = false
    /// The HTTP/1.1 head being written (reused from stream to stream).
    private let headOut = GrowableBytes(capacity: 1024)
    /// The response head's fields as nghttp2 sends them (`H2FieldList.removeAll(copyingInto:)`).
    private let responseArea = GrowableBytes(capacity: 512)
    /// Trailer fields as HTTP/1.1 lines, written with the last chunk.
    private var requestTrailers: [UInt8] = []

    // Response, handed over by the inner connection.
    private let body = PulledBody()
    private var bodyEOF = false
    private(set) var responseSubmitted = false
    /// The request is gRPC's: the proxy's own errors become gRPC statuses.
    private var isGRPC = false
    /// The response's scheduling was decided (`takesConnectionShare`); a pull found no bytes,
    /// so nghttp2 holds the body back until resumed (`takeDeferred`).
    private var shareDecided = false, bodyDeferred = false
    /// The inner connection. Strong: it may have closed (and left the worker's list) before the
    /// stream ends. It holds this bridge as its `responseSink`, unretained: `abandon` clears that
    /// before letting it go.
    private var inner: ClientConnection? {
        didSet { innerRef = inner.map { Unmanaged.passUnretained($0) } }
    }
    /// `inner`, borrowed on the per-request paths (no retain and release per call): a
    /// `UVStream` holds itself until its close callback, and `inner` holds it after that.
    private var innerRef: Unmanaged<ClientConnection>?

    /// Response bytes held for the client before the inner connection stops reading its upstream.
    static let bodyHighWater = 64 * 1024
    /// Buffers up to this size stay allocated while the bridge is idle.
    static let keptCapacity = 16 * 1024

    init(id: Int32, connection: H2Connection, headerLimit: Int) {
        self.id = id
        connectionRef = Unmanaged.passUnretained(connection)
        self.headerLimit = headerLimit
        requestHead = H2RequestHead(limit: headerLimit)
        super.init(io: connection.client.worker.io)
    }

    // MARK: request

    func field(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        if started { return trailer(name: name, value: value) }
        requestHead.field(name: name, value: value)
        return true
    }

    /// What `start` made of a complete head.
    enum Start { case started, refused, malformed }

    /// The client's RFC 9218 priority for the stream, applied before it starts.
    var priority: H2PriorityField? { requestHead.priority }

    /// The head is complete: opens the pair (unless reused) and hands the inner connection the
    /// request's head as values (`ClientConnection.beginStreamRequest`: no bytes through the
    /// pair, no parse), or, when only llhttp decides on it (`H2RequestHead.givesValues`), as
    /// HTTP/1.1 bytes written into the pair. A body follows the same way (DATA as its bytes,
    /// chunked without content-length). `malformed` (RFC 9113 §8.1.1): reset with
    /// PROTOCOL_ERROR; `refused`: CONNECT, or no pair could be opened.
    func start(endStream: Bool) -> Start {
        let r = requestHead
        guard r.complete(endStream: endStream) else {
            rejected = true
            return .malformed
        }
        // A well-formed CONNECT (`complete`): the proxy tunnels nothing over HTTP/2. A refused
        // stream is rejected too: DATA that comes for it before its RST_STREAM is sent (a client
        // that does not read holds the RST back) must not reach the pair, whose inner
        // connection would read it as HTTP/1.1.
        if r.method.equals("CONNECT") || (innerRef == nil && !openPair()) {
            rejected = true
            return .refused
        }
        innerRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { start(r, endStream: endStream, inner: $0) }
        return .started
    }

    private func start(_ r: H2RequestHead, endStream: Bool, inner c: ClientConnection) {
        // A reused pair's inner connection is between requests: the deadline is this stream's.
        c.clientDeadlineMs = r.deadlineMs
        isGRPC = r.isGRPC
        started = true
        requestDone = endStream
        chunked = !endStream && !r.hasContentLength
        if c.state == .idle && r.givesValues, let code = r.methodCode {
            if !endStream { pipe.start(chunked: chunked, bridge: self, connection: c) }
            c.beginStreamRequest(r, methodCode: code, bodyFollows: !endStream)
        } else {
            c.prepareForHeadBytes()
            r.writeHTTP1(into: headOut, chunked: chunked)
            _ = write(headOut.base, headOut.count)
            // Storage is kept for the next stream unless a large head left it large.
            headOut.reset(keep: Self.keptCapacity)
        }
        startReading()
    }

    /// A new pair and its inner connection (a stream on a connection with no idle pair).
    private func openPair() -> Bool {
        guard let parent = connection?.client, let (a, b) = UVStream.socketPair() else { return false }
        guard adopt(fd: b) else {
            _ = adopt(fd: a)
            return false
        }
        guard let c = parent.worker.connectionForStream(fd: a, of: parent) else {
            close()
            return false
        }
        c.responseSink = Unmanaged.passUnretained(self)
        inner = c
        return true
    }

    /// Request DATA; true when the bytes may be acknowledged now: the inner connection took them
    /// (forwarded, its upstream not backed up), or the pair is not backed up.
    func body(_ data: UnsafeRawBufferPointer) -> Bool {
        guard data.count > 0, !rejected else { return true }
        if requestHead.hasContentLength {
            // More DATA than the content-length announced (§8.1.1) is never forwarded: past it,
            // llhttp would read the bytes as a next request.
            received &+= UInt64(data.count)
            if received > requestHead.contentLength.unsafelyUnwrapped {
                reject()
                return true
            }
        }
        if pipe.active {
            pipe.append(data)
            guard pipe.push(to: inner) else {
                unconsumed += data.count
                return false
            }
            // Bytes held before went with these (consumed here, flushed after the frame).
            if unconsumed > 0 { connection?.session.consume(id, unconsumed) }
            unconsumed = 0
            return true
        }
        writeBody(data, chunked: chunked)
        if writeQueueSize <= Worker.lowWater && unconsumed == 0 { return true }
        unconsumed += data.count
        return false
    }

    /// A field of the trailing HEADERS (RFC 9113 §8.1), checked here (no pseudo-header, the
    /// field rules of §8.2.1, no framing or routing field: else the stream is rejected at its
    /// end, `bodyEnded`). Carried as an HTTP/1.1 chunked trailer, where the inner connection checks it like
    /// any client's trailer (`RequestValidation.isForbiddenTrailerName`: no Authorization, Host or
    /// framing field gets through). A body with `content-length` is not chunked toward the inner
    /// connection, and HTTP/1.1 has no trailers without chunking: there they are dropped
    /// (`HTTP2Tests.requestTrailersAreCarriedAsChunkedTrailers` shows both).
    private func trailer(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        if trailersMalformed { return true }
        // §8.1: no pseudo-header, the field rules of §8.2, and none of the fields that frame or
        // route a message (stricter than nghttp2, which took a host there, and a content-length
        // when the head had none).
        guard H2FieldSyntax.isName(name), H2FieldSyntax.isValue(value),
              !H2Names.isConnectionSpecific(name), !H2Names.equal(name, "content-length"), !H2Names.equal(name, "host"),
              !H2Names.equal(name, "te") || H2Names.equal(value, "trailers")
        else {
            trailersMalformed = true
            return true
        }
        guard chunked else { return true }
        H2Names.appendLine(name, value, to: &requestTrailers)
        // Over the limit nghttp2 resets the stream (INTERNAL_ERROR); what still comes for it
        // before that is sent is dropped.
        if requestTrailers.count > headerLimit { rejected = true }
        return !rejected
    }

    func bodyEnded() {
        if rejected { return }
        // The body's length must be the content-length's (§8.1.1), and trailers well formed.
        if trailersMalformed || (requestHead.hasContentLength && received != requestHead.contentLength.unsafelyUnwrapped) {
            return reject()
        }
        requestDone = true
        guard chunked else { return }
        if pipe.active {
            pipe.appendEnd(trailers: requestTrailers)
            _ = pipe.push(to: inner)
        } else {
            writeLastChunk(trailers: requestTrailers)
        }
        if !requestTrailers.isEmpty { requestTrailers = [] }
    }

    /// A trailing HEADERS without END_STREAM (§8.1: trailers end the stream).
    func trailersDidNotEnd() { if !rejected { reject() } }

    /// The request is malformed (RFC 9113 §8.1.1): RST_STREAM PROTOCOL_ERROR, and nothing more
    /// of it goes on; the stream's close abandons what its exchange started (`abandon`).
    private func reject() {
        rejected = true
        connection?.resetStream(self, code: H2ErrorCode.protocolError)
    }

    /// The inner connection reads its body again (`ClientConnection.startReadingBody`): what
    /// waits in the pipe goes on the next loop turn (not from inside the connection's call).
    func innerReads() {
        if pipe.active && !pipe.isEmpty { startTimer(ms: 0) }
    }

    override func onTimer() {
        guard pipe.active, !pipe.isEmpty, pipe.push(to: inner) else { return }
        let n = unconsumed
        unconsumed = 0
        connection?.bridgeDrained(self, unconsumed: n)
    }

    override func onWriteDone(_ error: UVError?) {
        guard error == nil, unconsumed > 0, writeQueueSize <= Worker.lowWater else { return }
        let n = unconsumed
        unconsumed = 0
        connection?.bridgeDrained(self, unconsumed: n)
    }

    // MARK: response, handed over by the inner connection (no HTTP/1.1 bytes, no parse)

    /// The inner connection's response head begins: `:status` (llhttp bounds the code to three
    /// digits), then the caller adds the kept fields (valid until `submitResponseHead`; copied
    /// into `responseArea`, which stays as it is until this stream closed) to the returned list,
    /// unretained: the session owns it and outlives the head (no retain and release).
    func startResponse(status code: Int) -> Unmanaged<H2FieldList> {
        let list = connectionRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { Unmanaged.passUnretained($0.session.fields) }
        return list._withUnsafeGuaranteedRef { f in
            startResponse(f, status: code)
            return list
        }
    }

    private func startResponse(_ f: H2FieldList, status code: Int) {
        f.removeAll(copyingInto: UnsafeMutableRawBufferPointer(start: responseArea.base, count: responseArea.capacity))
        f.addStatus(code)
    }

    /// Submits the head `startResponse` began, with the body bytes that came along. `noBody`:
    /// the HEADERS frame ends the stream (HEAD, 204, 304, `content-length: 0`; a gRPC
    /// trailers-only answer must: its grpc-status is in this head).
    func submitResponseHead(noBody: Bool, body first: UnsafeRawBufferPointer) {
        if noBody {
            bodyEOF = true
        } else if first.count > 0 {
            body.append(first)
        }
        responseSubmitted = true
        connectionRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.submitResponse(self, noBody: noBody) }
    }

    /// Response payload (de-chunked), held until nghttp2 pulls it (`readResponse`).
    @inline(__always)
    func responseBody(_ base: UnsafeRawPointer, _ count: Int) {
        body.append(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Response bytes not yet pulled: above `bodyHighWater` the inner connection stops reading
    /// its upstream until `readResponse` drains them.
    var pendingResponseBytes: Int { body.pending }

    /// Sends what is ready (the HEADERS and the DATA gathered so far, in one write).
    func responseProgress() {
        connectionRef?._withUnsafeGuaranteedRef { $0.responseReady(self) }
    }

    /// The chunked trailer lines (`name: value\r\n`) of the response, sent as a trailing
    /// HEADERS once the body ends (gRPC's status).
    func responseTrailers(_ lines: [UInt8]) {
        responseTrailers = lines
    }

    /// The response ended, after the inner connection finished its exchange (so that `reusable`
    /// sees it idle when the stream closes during this flush). `keepAlive`: the inner connection
    /// serves another request.
    func responseEnded(keepAlive: Bool) {
        bodyEOF = true
        responseKeepAlive = keepAlive
        connectionRef?._withUnsafeGuaranteedRef { $0.responseReady(self) }
    }

    /// The proxy's own answer (`ClientConnection.respond`), followed by `responseEnded`: for a
    /// gRPC request a trailers-only response (DESIGN.md §7: `:status 200`, grpc-status and the
    /// error's message as grpc-message), else the status and the JSON error as for HTTP/1.1.
    func answer(_ error: ProxyError, noBody: Bool) {
        guard let connection else { return }
        let f = connection.session.fields
        f.removeAll()
        body.removeAll()
        if isGRPC {
            f.add(H2Names.status, Array("200".utf8))
            f.add(H2Names.contentType, Array("application/grpc".utf8))
            f.add(H2Names.grpcStatus, Array(String(GRPCStatus.code(forProxyError: error.code)).utf8))
            f.add(H2Names.grpcMessage, GRPCStatus.percentEncoded(error.message))
            submitResponseHead(noBody: true, body: UnsafeRawBufferPointer(start: nil, count: 0))
            return
        }
        let json = Array(error.jsonBody.utf8)
        f.add(H2Names.status, Array(String(error.status).utf8))
        f.add(H2Names.contentType, Array("application/json".utf8))
        f.add(H2Names.contentLength, Array(String(json.count).utf8))
        f.add(Array("cache-control".utf8), Array("no-store".utf8))
        if let (name, value) = error.extraField { f.add(Array(name.lowercased().utf8), Array(value.utf8)) }
        json.withUnsafeBytes { submitResponseHead(noBody: noBody, body: $0) }
    }

    /// Chunked trailer lines of the response (`name: value\r\n`), sent as a trailing HEADERS.
    private var responseTrailers: [UInt8] = []

    /// At the end of the body: submits the trailers, if any (gRPC's status). Connection-level
    /// fields never go (RFC 9113 §8.1).
    func submitTrailers() -> Bool {
        guard !responseTrailers.isEmpty, let connection else { return false }
        let s = connection.session
        s.fields.removeAll()
        responseTrailers.withUnsafeBytes { all in
            var start = 0
            while start < all.count {
                var end = start
                while end + 1 < all.count && !(all[end] == 13 && all[end + 1] == 10) { end += 1 }
                var colon = start
                while colon < end && all[colon] != UInt8(ascii: ":") { colon += 1 }
                var v = colon + 1
                while v < end && (all[v] == 32 || all[v] == 9) { v += 1 }
                let name = UnsafeRawBufferPointer(rebasing: all[start..<colon])
                if colon < end && !H2Names.isConnectionSpecific(name) {
                    s.fields.add(name: name, value: UnsafeRawBufferPointer(rebasing: all[v..<end]))
                }
                start = end + 2
            }
        }
        responseTrailers = []
        return s.submitTrailers(id)
    }

    /// Whether nghttp2 deferred the body, to be resumed now (else it pulls on its own).
    func takeDeferred() -> Bool {
        if !bodyDeferred { return false }
        bodyDeferred = false
        return true
    }

    /// The body spans DATA frames: true (once per stream) when it is to share the connection
    /// round-robin (`H2Session.shareConnection`), unless the client gave the stream a priority
    /// (RFC 9218 §5's `priority` field, which nghttp2 applied).
    func takesConnectionShare() -> Bool {
        if shareDecided { return false }
        shareDecided = true
        return !requestHead.hasPriority
    }

    /// nghttp2 pulls DATA. Taking bytes is progress for a paused inner connection; draining
    /// them all lets its upstream be read again (`ClientConnection.streamResponsePulled`).
    func readResponse(into out: UnsafeMutableRawBufferPointer) -> (count: Int, eof: Bool)? {
        guard let r = body.pull(into: out, ended: bodyEOF) else {
            bodyDeferred = true
            return nil
        }
        if r.count > 0 && !bodyEOF { innerRef?._withUnsafeGuaranteedRef { $0.streamResponsePulled(drained: r.drained) } }
        return (r.count, r.eof)
    }

    // MARK: the pair's other direction: it carries no response, only its end

    override func onRead(_ data: UnsafeRawBufferPointer) {
        // An idle pair's inner connection has nothing to say: it goes. A busy one writes nothing
        // but the `100 Continue` it owes an HTTP/1.1 client (HTTP/2 clients get no interim
        // responses): ignored.
        if parked { return discard() }
    }

    override func onReadEnd(_ error: UVError) {
        // An idle pair's inner connection closed (its idle timeout, a drain).
        if parked { return discard() }
        if bodyEOF {
            connection?.responseReady(self)
        } else {
            // The exchange was cut (the inner connection aborted: framing broken, timeout).
            fail()
        }
        close()
    }

    private func fail() {
        bodyEOF = true
        connection?.resetStream(self, code: H2ErrorCode.internalError)
        close()
    }

    // MARK: reuse

    /// The stream ended with its exchange complete on both sides of the pair and the inner
    /// connection waiting for the next request: the pair may carry another stream. Never after
    /// an error answer with `connection: close`, a reset mid-exchange, an upgrade or a timeout
    /// (each leaves the inner connection closing or the response unfinished).
    var reusable: Bool {
        guard started && requestDone && bodyEOF && responseKeepAlive && !isClosing, let c = innerRef else { return false }
        return c._withUnsafeGuaranteedRef { !$0.isClosing && ($0.state == .idle || $0.state == .readingHead) }
    }

    /// The stream ended and `reusable` held: idle until `recycle`. The stream's unacknowledged
    /// request DATA is given back as `abandon` does.
    func park() {
        if unconsumed > 0 { connection?.session.consume(id, unconsumed) }
        unconsumed = 0
        if pipe.active { innerRef?._withUnsafeGuaranteedRef { pipe.finish($0) } }
        parked = true
    }

    /// An idle pair takes stream `id`; false when its inner connection closed meanwhile (then
    /// the bridge is abandoned).
    func recycle(id: Int32) -> Bool {
        guard let c = innerRef, !isClosing, !c._withUnsafeGuaranteedRef({ $0.isClosing }) else { return false }
        self.id = id
        parked = false
        requestHead.reset()
        chunked = false
        started = false
        requestDone = false
        responseKeepAlive = false
        received = 0
        rejected = false
        trailersMalformed = false
        // A drained body already kept its storage (`PulledBody.pull`).
        if body.pending > 0 || body.capacity > Self.keptCapacity { body.removeAll() }
        bodyEOF = false
        responseSubmitted = false
        isGRPC = false
        shareDecided = false
        bodyDeferred = false
        // Assigned only when not empty: replacing an empty array still calls swift_release.
        if !responseTrailers.isEmpty { responseTrailers = [] }
        if !requestTrailers.isEmpty { requestTrailers = [] }
        startReading()
        return true
    }

    /// An idle pair went away: the connection forgets it.
    private func discard() {
        connection?.bridgeGone(self)
        abandon()
    }

    /// The stream is gone (finished or reset): closing the pair ends the exchange behind it as
    /// a client that went away would (DESIGN.md §4), which frees its upstream work.
    func abandon() {
        // Request DATA not yet acknowledged still counts against the connection's window:
        // give it back (nghttp2 consumes at connection level for a closed stream; no flush
        // here, this runs inside its callback).
        if unconsumed > 0 { connection?.session.consume(id, unconsumed) }
        unconsumed = 0
        pipe.finish(inner)
        connectionRef = nil
        // A pair's EOF alone reads as a client half-close after a complete request (which §4
        // still answers): an unfinished exchange is aborted outright instead.
        inner?.responseSink = nil
        if !bodyEOF { inner?.abort() }
        inner = nil
        close()
    }
}
