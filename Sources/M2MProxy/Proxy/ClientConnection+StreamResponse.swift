/// The response of an HTTP/2 stream's inner connection (`responseSink` set): handed to the
/// stream's `H2StreamBridge` as a status, fields, payload and trailers, never as HTTP/1.1 bytes
/// (which the bridge would parse once more). The head goes through the same response phase
/// (`ReverseProxyPhases.responseFilter(_:_:fields:)`); the body is de-chunked as for an HTTP/1.0
/// client (`RequestContext.dechunk`); the end is told after the exchange finished
/// (`+Response`'s `responseComplete`), so the stream may close with this connection idle and
/// reusable. Backpressure: the bridge's pending bytes stand for the socket's write queue
/// (`afterBodyWrite`), and its pulls for the write completions (`streamResponsePulled`).
extension ClientConnection {
    /// The head `ReverseProxyPhases.responseFilter` keeps, with `bodyBytes` payload bytes that
    /// arrived with it (the caller did the common bookkeeping of `sendResponseHead`).
    func sendStreamResponseHead(_ u: UpstreamConnection, headEnd: Int, bodyBytes: Int) {
        responseSink.unsafelyUnwrapped._withUnsafeGuaranteedRef { sendStreamResponseHead(u, headEnd: headEnd, bodyBytes: bodyBytes, to: $0) }
    }

    /// The bridge is borrowed (no retain and release per call): a `UVStream` holds itself until
    /// its close callback, which libuv never runs inside another callback, so it outlives the call.
    private func sendStreamResponseHead(_ u: UpstreamConnection, headEnd: Int, bodyBytes: Int, to sink: H2StreamBridge) {
        let p = u.parser
        let status = p.statusCode
        // A chunked body's trailers go to the stream (gRPC's status); set once per upstream
        // connection (it swaps llhttp's field callbacks).
        if request.dechunk && !p.recordTrailers { p.recordTrailers = true }
        let r = UpstreamResponseHead(
            buffer: u.headBuffer, headEnd: headEnd, status: status, headers: p.headers, headerCount: p.headerCount,
            kinds: kinds, needsEOF: p.messageNeedsEOF, clientClosing: clientEOF && nextStart < 0)
        let fields = sink.startResponse(status: status)
        var headBytes = 0
        // The spans stay valid until the submit below copies them (the upstream's head buffer).
        driver.responseFilter(self, r) { h in
            fields._withUnsafeGuaranteedRef { $0.borrow(name: h.name.buffer, value: h.value.buffer) }
            headBytes &+= h.name.count &+ h.value.count &+ 4
        }
        // llhttp counts `contentLength` down as it parses the body: 0 with no byte taken is an
        // empty body (the bytes that came along may have completed a non-empty one).
        let noBody = request.isHEAD || status == 204 || status == 304 || (p.hasContentLength && p.contentLength == 0 && bodyBytes == 0)
        sink.submitResponseHead(noBody: noBody, body: UnsafeRawBufferPointer(start: u.headBuffer + headEnd, count: bodyBytes))
        // bytes_out: the head's fields and the payload, as they would read in HTTP/1.1.
        countWritten(headBytes &+ bodyBytes)
    }

    /// Payload: the de-chunked pieces, or the bytes as they are (a length- or close-delimited body).
    func streamResponseBody(_ u: UpstreamConnection, _ base: UnsafeRawPointer, _ count: Int) {
        responseSink.unsafelyUnwrapped._withUnsafeGuaranteedRef { sink in
            if request.dechunk {
                for span in u.parser.bodySpans {
                    sink.responseBody(span.base, span.count)
                    countWritten(span.count)
                }
                u.parser.clearBodySpans()
            } else {
                sink.responseBody(base, count)
                countWritten(count)
            }
        }
    }

    /// `afterBodyWrite` for a stream: sends the bytes as far as the client's windows allow; the
    /// upstream pauses while more than `bodyHighWater` still wait in the bridge.
    func streamAfterBodyWrite(_ u: UpstreamConnection) {
        let sink = responseSink.unsafelyUnwrapped
        sink._withUnsafeGuaranteedRef { $0.responseProgress() }
        // That flush may have ended the exchange: nghttp2 closed the stream (a head it could not
        // send, a reset queued earlier), and the bridge let this connection go (`abandon`).
        guard !isClosing else { return }
        if sink._withUnsafeGuaranteedRef({ $0.pendingResponseBytes }) > H2StreamBridge.bodyHighWater {
            pauseUpstreamForClient(u)
        } else if !request.upstreamPausedForClient {
            startReadTimer(u)
        }
    }

    /// A chunked response's trailers (the parser's, before the upstream connection is reused).
    func streamResponseTrailers(_ u: UpstreamConnection) {
        let lines = u.parser.takeTrailerLines()
        if !lines.isEmpty { responseSink.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.responseTrailers(lines) } }
    }

    /// After the exchange finished (`finishExchange`: this connection idle for the next request,
    /// or closing): the stream's response ends.
    func streamResponseEnded() {
        let keepAlive = state != .closing && !isClosing
        responseSink?._withUnsafeGuaranteedRef { $0.responseEnded(keepAlive: keepAlive) }
    }

    /// The bridge handed response bytes to the client: as a write completion is for a socket
    /// client (`onWriteDone`), progress that moves the send deadline, and once drained, the
    /// upstream paused for it (`afterBodyWrite`) is read again.
    func streamResponsePulled(drained: Bool) {
        guard request.upstreamPausedForClient, let u = upstream else { return }
        guard drained else {
            startTimer(ms: worker.limits.idleTimeoutMs)
            return
        }
        request.upstreamPausedForClient = false
        u.startReading()
        startReadTimer(u)
        if request.bodyDone { stopTimer() }
    }

    /// The proxy's own answer to the stream (`respond`), ended with `responseEnded` once the
    /// exchange is over.
    func answerStream(_ error: ProxyError) {
        let sink = responseSink.unsafelyUnwrapped.takeUnretainedValue()
        sink.answer(error, noBody: request.isHEAD)
        countWritten(sink.pendingResponseBytes)
    }
}
