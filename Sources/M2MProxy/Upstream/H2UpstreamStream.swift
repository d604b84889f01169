/// One request to an HTTP/2 upstream (`H2UpstreamSession`), seen from the proxy as an HTTP/1.1
/// exchange: the `UpstreamConnection` of the request writes its HTTP/1.1 message into the other
/// end of this stream pair; it is parsed here (llhttp) and submitted as HEADERS and DATA, and the
/// HTTP/2 response is written back as HTTP/1.1 with a chunked body whose trailer section carries
/// the response trailers (`grpc-status`, `grpc-message`). Bodies stream both ways at once (gRPC
/// bidirectional calls), each with backpressure: request bytes are read from the pair only while
/// nghttp2 takes them, response DATA is acknowledged (WINDOW_UPDATE) once the pair took it.
/// One stream per pair: the response says `connection: close`.
final class H2UpstreamStream: UVStream {
    private var session: H2UpstreamSession?
    private var id: Int32 = 0
    /// The request's connection (the pair's other end), told when the upstream refused the
    /// stream. Strong until this stream's handles are closed (`onClosed`): the connection holds
    /// nothing of the stream, so there is no cycle. Not `weak`: a weak reference's side table is
    /// reached only through tagged pointers, which LeakSanitizer does not follow, so the asan
    /// stage reported one (32 bytes) for each refused-stream test still holding it at exit.
    var exchange: UpstreamConnection?
    private let parser = HTTPParser(kind: .request, maxHeaders: 128)
    private var headBytes: [UInt8] = []
    private var headParsed = 0
    private var headDone = false
    private var isHEAD = false
    /// Request body bytes not yet taken by nghttp2, and whether the request message ended.
    private let requestBody = PulledBody()
    private var requestEnded = false
    /// The response: head lines gathered from HEADERS, trailers from the trailing block.
    private var status = 0
    private var responseHead: [UInt8] = []
    private var trailerLines: [UInt8] = []
    private var chunked = false
    private var responseDone = false
    /// Response DATA written to the pair but not yet acknowledged to the upstream.
    private var unconsumed = 0

    static let requestHighWater = 64 * 1024

    init(session: H2UpstreamSession) {
        self.session = session
        super.init(io: session.io)
        parser.recordBody = true
    }

    // MARK: request (from the pair)

    override func onRead(_ data: UnsafeRawBufferPointer) {
        if headDone {
            parse(data.baseAddress!, data.count)
        } else {
            // Header spans must stay valid until the head is submitted: gather it first.
            headBytes.append(contentsOf: data)
            headBytes.withUnsafeBytes { parse($0.baseAddress!, $0.count) }
        }
        if requestBody.pending > Self.requestHighWater { stopReading() }
        if id != 0 { session?.resumeBody(id) }
    }

    private func parse(_ base: UnsafeRawPointer, _ count: Int) {
        var off = headDone ? 0 : headParsed
        while off < count && !requestEnded {
            let event = parser.execute(base + off, count - off)
            takeBody()
            switch event {
            case .needMore:
                off = count
            case .headersComplete(let n):
                off += n
                parser.resume()
                headDone = true
                guard submitHead() else { return }
            case .messageComplete(let n):
                off += n
                parser.resume()
                requestEnded = true
            case .error:
                // The proxy wrote this message itself: nothing sensible to answer.
                close()
                return
            }
        }
        if !headDone { headParsed = off } else { headBytes = [] }
    }

    private func takeBody() {
        for s in parser.bodySpans { requestBody.append(s.buffer) }
        parser.clearBodySpans()
    }

    /// Converts the HTTP/1.1 head into a HEADERS block (RFC 9113 §8.3.1) and starts the stream.
    private func submitHead() -> Bool {
        guard let session else { return false }
        let f = session.h2.fields
        f.removeAll()
        H2Names.method.withUnsafeBytes { _ = f.add(name: $0, value: parser.method.buffer) }
        f.add(H2Names.scheme, session.scheme)
        H2Names.path.withUnsafeBytes { _ = f.add(name: $0, value: parser.url.buffer) }
        for i in 0..<parser.headerCount {
            let h = parser.headers[i]
            if H2Names.equal(h.name.buffer, H2Names.host) {
                H2Names.authority.withUnsafeBytes { _ = f.add(name: $0, value: h.value.buffer) }
            }
        }
        for i in 0..<parser.headerCount {
            let h = parser.headers[i]
            let n = h.name.buffer
            if H2Names.equal(n, H2Names.host) || H2Names.equal(n, H2Names.te) || H2Names.isConnectionSpecific(n) { continue }
            guard f.add(name: n, value: h.value.buffer) else {
                close()
                return false
            }
        }
        // gRPC servers require it (RFC 9113 §8.2.2 allows exactly this value).
        f.add(H2Names.te, H2Names.trailers)
        isHEAD = parser.methodCode == HTTPParser.methodHEAD
        let noBody = !parser.isChunked && (!parser.hasContentLength || parser.contentLength == 0)
        if noBody { requestEnded = true }
        guard let id = session.start(self, noBody: noBody) else {
            // GOAWAY or ids exhausted: nothing of the request left the proxy, so it may go
            // again on a new connection; it sees the upstream close before answering.
            exchange?.streamRefused = true
            close()
            return false
        }
        self.id = id
        return true
    }

    /// nghttp2 pulls request DATA.
    func readRequestBody(into out: UnsafeMutableRawBufferPointer) -> (count: Int, eof: Bool)? {
        guard let r = requestBody.pull(into: out, ended: requestEnded) else { return nil }
        if r.drained && !requestEnded && !isClosing { startReading() }
        return (r.count, r.eof)
    }

    // MARK: response (to the pair)

    func field(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, trailer: Bool) {
        if trailer {
            // An empty trailer value says nothing (and an empty grpc-message is the default).
            if value.count > 0 { H2Names.appendLine(name, value, to: &trailerLines) }
            return
        }
        if H2Names.equal(name, H2Names.status) {
            status = 0
            for c in value where c >= 48 && c <= 57 { status = status * 10 + Int(c - 48) }
            return
        }
        // The body is re-framed here (chunked), so the upstream's length goes.
        if H2Names.equal(name, H2Names.contentLength) && !isHEAD { return }
        if name.first == UInt8(ascii: ":") || H2Names.isConnectionSpecific(name) { return }
        H2Names.appendLine(name, value, to: &responseHead)
    }

    func responseHead(endStream: Bool) {
        if status < 200 {
            // 1xx (100-continue, 103): the final head follows; nothing of it is relayed.
            responseHead.removeAll(keepingCapacity: true)
            return
        }
        var head: [UInt8] = []
        head.reserveCapacity(responseHead.count + 96)
        HTTPStatusLine.append(status, to: &head)
        head += responseHead
        let bodyless = isHEAD || status == 204 || status == 304
        if !bodyless {
            if endStream {
                head += H2Names.contentLengthZero
            } else {
                chunked = true
                head += H2Names.chunkedLine
            }
        }
        head += H2Names.closeLine
        responseHead = []
        head.withUnsafeBytes { _ = write($0.baseAddress!, $0.count) }
        if endStream || bodyless { responseDone = true }
    }

    /// Response DATA; true when it may be acknowledged now (the pair is not backed up).
    func data(_ data: UnsafeRawBufferPointer) -> Bool {
        guard data.count > 0, chunked else { return true }
        writeBody(data, chunked: true)
        if writeQueueSize <= LoopIO.lowWater && unconsumed == 0 { return true }
        unconsumed += data.count
        return false
    }

    func responseEnded() {
        guard chunked, !responseDone else { return }
        responseDone = true
        writeLastChunk(trailers: trailerLines)
        trailerLines = []
    }

    override func onWriteDone(_ error: UVError?) {
        guard error == nil, unconsumed > 0, writeQueueSize <= LoopIO.lowWater else { return }
        let n = unconsumed
        unconsumed = 0
        session?.consume(id, n)
    }

    /// The stream ended (complete, or reset by the upstream with `errorCode`). A response cut
    /// short ends the pair, which the request sees as the upstream failing.
    func streamClosed(errorCode: UInt32) {
        // Still-unacknowledged DATA of a closed stream must still open the connection's window
        // (nghttp2 consumes at connection level for a closed stream id), or the session stalls.
        // Called from nghttp2's callback: no flush here (the session flushes after the read).
        if unconsumed > 0 { session?.h2.consume(id, unconsumed) }
        unconsumed = 0
        id = 0
        session = nil
        if !responseDone {
            // REFUSED_STREAM: a RST_STREAM with it, or nghttp2 closing a stream above a GOAWAY's
            // last stream id (or one it never sent). The upstream did not process the request
            // (RFC 9113 §8.7), so it may be sent again, whatever its method.
            if errorCode == Self.refusedStream { exchange?.streamRefused = true }
            close()
        }
    }

    /// REFUSED_STREAM (RFC 9113 §7).
    static let refusedStream: UInt32 = 7

    /// The whole connection is gone.
    func sessionLost() {
        id = 0
        session = nil
        close()
    }

    override func onClosed() {
        exchange = nil
    }

    /// The request's side closed the pair (exchange done, or abandoned: the client left, a
    /// timeout): an unfinished stream is reset so the upstream stops its work.
    override func onReadEnd(_ error: UVError) {
        if id != 0 && unconsumed > 0 { session?.consume(id, unconsumed) }
        unconsumed = 0
        if id != 0 { session?.cancel(id) }
        id = 0
        session = nil
        close()
    }
}
