/// HTTP/2 on a client connection (DESIGN.md §7): prior knowledge, detected when llhttp stops at
/// the connection preface. nghttp2 (`H2Session`) handles the framing; each stream becomes an
/// exchange on an ordinary `ClientConnection` (`H2StreamBridge`: the request's head is handed to
/// it as values and its body by direct calls; the response is handed back directly), so routing,
/// tokens, limits, the access log and metrics are exactly those of HTTP/1.1.
///
/// Backpressure: request DATA is acknowledged to the client (`consume`, i.e. WINDOW_UPDATE) only
/// once the stream's exchange has taken it (`H2StreamBridge.body`); response bytes are sent only
/// while this connection's write queue is under the worker's high-water mark, and a stream's
/// inner connection stops reading its upstream while the bridge's response buffer is full
/// (`bodyHighWater`) until nghttp2 drained it. Nothing grows without bound behind a slow peer.
final class H2Connection: H2SessionDelegate {
    /// The connection that owns this one (`h2`, dropped in its `onClosed` after `finish`):
    /// alive whenever this runs. `unowned(unsafe)`: a checked `unowned` load costs a strong
    /// retain and a release on every use (~120 instructions per request, callgrind).
    unowned(unsafe) let client: ClientConnection
    /// The same, for the per-request calls: `_withUnsafeGuaranteedRef` borrows it without the
    /// retain and release an `unowned(unsafe)` load still costs when passed on (`flush`: ~120
    /// instructions per HTTP/2 request, callgrind).
    private let clientRef: Unmanaged<ClientConnection>
    let session: H2Session
    /// The open streams' bridges, owned here (each knows its index, `slot`). The lookup by id is
    /// nghttp2's own stream table: each stream's user data is its bridge's address.
    ///
    /// Both lists hold one retain per bridge by hand (`Unmanaged`): a bridge moves between them
    /// per stream, and appending a strong reference retained it and released the one moved in
    /// even when consumed (callgrind: ~40 instructions per stream). Released when a bridge
    /// leaves them for good (`finish`, `bridgeGone`, `h2StreamClosed`) or with this connection.
    private var open: [Unmanaged<H2StreamBridge>] = []
    /// Bridges whose pair is idle (keep-alive) for the next streams, most recent last; at most
    /// `maxIdle` (max_concurrent_streams): as many as were ever busy at once.
    private var idle: [Unmanaged<H2StreamBridge>] = []
    private let maxIdle: Int
    private let headerLimit: Int
    /// The stream of the latest callback: nghttp2 calls for one stream in runs (a HEADERS
    /// block's fields).
    private var lastID: Int32 = 0
    private var lastStream: Unmanaged<H2StreamBridge>?
    /// Frames nghttp2 hands out one at a time, gathered so that one write sends them.
    private let out = GrowableBytes(capacity: 4 * gatherLimit)
    /// Frames at least this large are written as they are (after what was gathered).
    static let gatherLimit = 4096
    private var closed = false
    /// nghttp2 is receiving or sending (its callbacks run): `flush` waits for it.
    private var inSession = false
    /// A flush is queued for the end of the loop iteration (`responseReady`).
    private var flushQueued = false

    /// `limits.max_concurrent_streams` (default 100, Envoy's edge-proxy recommendation; its own
    /// default is 2^31-1) and `limits.max_header_bytes` as SETTINGS_MAX_HEADER_LIST_SIZE.
    init?(client: ClientConnection, maxConcurrentStreams: Int, maxHeaderBytes: Int) {
        guard let s = H2Session(
            maxConcurrentStreams: UInt32(maxConcurrentStreams),
            maxHeaderListSize: UInt32(maxHeaderBytes),
            memory: client.io.h2Memory)
        else { return nil }
        self.client = client
        clientRef = Unmanaged.passUnretained(client)
        session = s
        headerLimit = maxHeaderBytes
        maxIdle = maxConcurrentStreams
        open.reserveCapacity(min(maxConcurrentStreams, 128))
        super.init()
        s.delegate = self
    }

    deinit {
        for s in open { s.release() }
        for s in idle { s.release() }
    }

    var streamCount: Int { open.count }

    /// Bytes from the client. Returns false when the connection is to close (after a GOAWAY).
    func received(_ data: UnsafeRawBufferPointer) {
        inSession = true
        let ok = session.receive(data)
        inSession = false
        flush()
        if !ok || !session.isAlive { finish() }
    }

    /// Sends what nghttp2 has ready, unless the client is not reading (its queue drains first).
    func flush() {
        // Never from inside nghttp2 (a stream's exchange may answer from one of its callbacks):
        // the receive or send under way flushes, or goes on producing frames, when it returns.
        guard !closed, !inSession else { return }
        inSession = true
        flushQueued = false
        let done = clientRef._withUnsafeGuaranteedRef { c in
            let out = self.out
            // One batch, until `mem_send` has nothing: then nothing is sendable (what waits is
            // held by flow control or deferred), so no `want_write` after it. Frames submitted
            // by callbacks during the batch go in the same batch.
            if c.writeQueueSize <= Worker.highWater {
                session.flush { p, n in
                    if n < Self.gatherLimit {
                        out.append(p, n)
                        if out.count >= 3 * Self.gatherLimit { Self.writeGathered(out, to: c) }
                    } else {
                        Self.writeGathered(out, to: c)
                        c.write(p, n)
                    }
                }
                Self.writeGathered(out, to: c)
            }
            return !session.isAlive && c.pendingWrites == 0
        }
        if done { finish() }
        inSession = false
    }

    @inline(__always)
    private static func writeGathered(_ out: GrowableBytes, to c: ClientConnection) {
        guard !out.isEmpty else { return }
        _ = c.write(out.base, out.count)
        out.reset()
    }

    /// The stream `id`, not retained: the connection owns its bridges (`open`), and a bridge
    /// leaves `open` only in `h2StreamClosed` and `finish`, neither of which runs while nghttp2
    /// is inside another callback (`finish` comes from the client's read end, its close, its idle
    /// timer or a `flush`, which waits while `inSession`). So a bridge borrowed in a callback
    /// (`_withUnsafeGuaranteedRef`) outlives the call: no retain and release per call.
    @inline(__always)
    private func streamRef(_ id: Int32) -> Unmanaged<H2StreamBridge>? {
        if id == lastID, let s = lastStream { return s }
        // After `finish` the bridges are gone while nghttp2 still has their addresses.
        guard !closed, let p = session.streamData(id) else { return nil }
        let s = Unmanaged<H2StreamBridge>.fromOpaque(p)
        lastID = id
        lastStream = s
        return s
    }

    /// The client connection is gone or done: every stream's exchange is dropped.
    func finish() {
        guard !closed else { return }
        closed = true
        let all = open + idle
        lastStream = nil
        open.removeAll()
        idle.removeAll()
        for s in all { s.takeRetainedValue().abandon() }
        client.closeWhenFlushed()
    }

    /// Shutdown or idle: GOAWAY, and close once in-flight streams end.
    func goAway() {
        session.goAway()
        flush()
    }

    /// An idle bridge's pair closed.
    func bridgeGone(_ s: H2StreamBridge) {
        let p = Unmanaged.passUnretained(s).toOpaque()
        if let i = idle.firstIndex(where: { $0.toOpaque() == p }) { idle.remove(at: i).release() }
    }

    func bridgeDrained(_ s: H2StreamBridge, unconsumed: Int) {
        if unconsumed > 0 { session.consume(s.id, unconsumed) }
        flush()
    }

    func responseReady(_ s: H2StreamBridge) {
        if !s.responseSubmitted { return }
        if s.takeDeferred() { session.resumeBody(s.id) }
        // At the end of the loop iteration, with the other responses that came in meanwhile.
        if !flushQueued && !closed {
            flushQueued = true
            clientRef._withUnsafeGuaranteedRef { $0.io.h2Flushes.schedule(self) }
        }
    }

    override func h2Flush() {
        // A flush since (`received`, a reset) already sent what was queued.
        if flushQueued { flush() }
    }

    /// From the inner connection's response head, followed by `responseReady` (the flush) once
    /// its read is handled: the HEADERS and the first DATA go out in one write.
    func submitResponse(_ s: H2StreamBridge, noBody: Bool) {
        if !session.submitResponse(s.id, noBody: noBody, source: Unmanaged.passUnretained(s).toOpaque()) {
            session.resetStream(s.id, code: H2ErrorCode.internalError)
        }
    }

    func resetStream(_ s: H2StreamBridge, code: UInt32) {
        session.resetStream(s.id, code: code)
        flush()
    }

    // MARK: H2SessionDelegate

    override func h2StreamBegan(_ id: Int32) {
        guard !closed else { return }
        // The most recent idle bridge takes the stream; one whose pair closed is dropped.
        while !idle.isEmpty {
            // The idle list's retain goes with it (to `open`, or released).
            let s = idle.removeLast()
            if s._withUnsafeGuaranteedRef({ $0.recycle(id: id) }) { return adopt(s, id) }
            s._withUnsafeGuaranteedRef { $0.abandon() }
            s.release()
        }
        adopt(Unmanaged.passRetained(H2StreamBridge(id: id, connection: self, headerLimit: headerLimit)), id)
    }

    /// `s` is retained for `open`.
    @inline(__always)
    private func adopt(_ s: Unmanaged<H2StreamBridge>, _ id: Int32) {
        s._withUnsafeGuaranteedRef { $0.slot = open.count }
        session.setStreamData(id, s.toOpaque())
        // Its fields come next: they find it here, not through nghttp2's stream table.
        lastID = id
        lastStream = s
        open.append(s)
    }

    override func h2Field(_ id: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        guard let s = streamRef(id) else { return true }
        return s._withUnsafeGuaranteedRef { $0.field(name: name, value: value) }
    }

    override func h2HeadersDone(_ id: Int32, endStream: Bool) {
        guard let s = streamRef(id) else { return }
        s._withUnsafeGuaranteedRef { b in
            // The client's RFC 9218 priority (nghttp2 applies it only with HTTP messaging on).
            if let p = b.priority { session.prioritize(id, urgency: p.urgency, incremental: p.incremental) }
            switch b.start(endStream: endStream) {
            case .started: break
            case .refused: session.resetStream(id, code: H2ErrorCode.refusedStream)
            case .malformed: session.resetStream(id, code: H2ErrorCode.protocolError)
            }
        }
    }

    override func h2TrailersDidNotEnd(_ id: Int32) {
        streamRef(id)?._withUnsafeGuaranteedRef { $0.trailersDidNotEnd() }
    }

    override func h2Data(_ id: Int32, _ data: UnsafeRawBufferPointer) {
        guard let s = streamRef(id) else {
            session.consume(id, data.count)
            return
        }
        if s._withUnsafeGuaranteedRef({ $0.body(data) }) { session.consume(id, data.count) }
    }

    override func h2BodyEnded(_ id: Int32) {
        streamRef(id)?._withUnsafeGuaranteedRef { $0.bodyEnded() }
    }

    override func h2ReadBody(_ id: Int32, into: UnsafeMutableRawBufferPointer) -> (count: Int, eof: Bool)? {
        // A stream already dropped ends its body (nil would mean "later").
        guard let s = streamRef(id) else { return (0, true) }
        return s._withUnsafeGuaranteedRef { $0.readResponse(into: into) }
    }

    /// The bridge comes with the body (`submitResponse`'s source), not from nghttp2's stream
    /// table: nghttp2 pulls a body only while its stream is open, i.e. while `open` holds the
    /// bridge (and not after `finish`, which stops the flushes).
    override func h2ReadBody(_ id: Int32, source: UnsafeMutableRawPointer?, into: UnsafeMutableRawBufferPointer) -> (count: Int, eof: Bool)? {
        guard !closed, let source else { return h2ReadBody(id, into: into) }
        let s = Unmanaged<H2StreamBridge>.fromOpaque(source)
        // The stream's next callbacks (its close) find it here.
        lastID = id
        lastStream = s
        return s._withUnsafeGuaranteedRef { $0.readResponse(into: into) }
    }

    override func h2BodySpansFrames(_ id: Int32) {
        guard let s = streamRef(id), s._withUnsafeGuaranteedRef({ $0.takesConnectionShare() }) else { return }
        session.shareConnection(id)
    }

    override func h2SubmitTrailers(_ id: Int32) -> Bool {
        streamRef(id)?._withUnsafeGuaranteedRef { $0.submitTrailers() } ?? false
    }

    override func h2StreamClosed(_ id: Int32, errorCode: UInt32) {
        guard let ref = streamRef(id) else { return }
        lastStream = nil
        // The stream's user data is not cleared: nghttp2 destroys the stream as this returns
        // (with RFC 7540 priorities off, `H2Session`, it keeps no closed streams), and nothing
        // below looks the id up (the bridge's calls to its connection end in `abandon`/`park`).
        // Out of `open` by a swap with the last: the list's retain moves with it.
        let slot = ref._withUnsafeGuaranteedRef { $0.slot }
        var s = open.removeLast()
        if slot < open.count {
            // `s` is the last bridge: it takes the closed one's slot, and `s` becomes that one.
            s._withUnsafeGuaranteedRef { $0.slot = slot }
            swap(&s, &open[slot])
        }
        if !closed && idle.count < maxIdle && s._withUnsafeGuaranteedRef({ $0.reusable }) {
            s._withUnsafeGuaranteedRef { $0.park() }
            idle.append(s)
        } else {
            // Released after `abandon`: the bridge holds itself until its pair's close callback.
            s._withUnsafeGuaranteedRef { $0.abandon() }
            s.release()
        }
    }
}
