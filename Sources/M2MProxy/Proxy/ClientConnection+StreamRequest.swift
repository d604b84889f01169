/// An HTTP/2 stream's request head handed over as values by its bridge (`H2StreamBridge`,
/// `H2RequestHead`): laid out in the head buffer as the HTTP/1.1 head the bridge would have
/// written into the pair, its spans and the parser's state set as llhttp would set them, and the
/// request goes on exactly as one whose head was parsed (`beginRequest`: the same phases,
/// limits, timers, access log and metrics). No head bytes cross the pair and llhttp parses no
/// head. A body comes by direct calls from the bridge (`takeStreamBody`, while this connection
/// reads: `H2BodyPipe`) as HTTP/1.1 bytes (chunked when the stream sent no content-length), into
/// a parser primed for it (`HTTPParser.primeBody`), so it is forwarded, bounded, timed and ended
/// exactly as after a parsed head.
extension ClientConnection {
    /// The bridge's stream's head; the connection is idle. `bodyFollows`: the HEADERS did not end
    /// the stream.
    func beginStreamRequest(_ given: H2RequestHead, methodCode: Int, bodyFollows: Bool) {
        state = .readingHead
        noteRequestBegan()
        if head == nil { takeHead() }
        // A bodyless head sets all of llhttp's state it reads; a primed one parses.
        if bodyFollows { prepareForHeadBytes() }
        headGiven = !bodyFollows
        grpcGiven = given.isGRPC
        let chunked = bodyFollows && !given.hasContentLength
        let n = given.headLength(chunked: chunked)
        // What the same head as bytes gets: over max_header_bytes, or more fields than the header
        // table holds (llhttp's overflow), is 431.
        guard let head, n <= worker.limits.maxHeaderBytes, n <= worker.headBufferCapacity,
              1 + given.fieldCount + (chunked ? 1 : 0) <= BufferPool.headerSlots
        else {
            respond(.headerTooLarge)
            return
        }
        guard given.layOut(at: head, methodCode: methodCode, bodyFollows: bodyFollows, parser: parser) != nil else {
            respond(.badRequest("malformed request"))
            return
        }
        headCount = n
        headParsed = n
        headEnd = n
        beginRequest()
    }

    /// Reads the request body again: from the socket, and a stream's body waiting in its bridge
    /// flows again (on the next loop turn). Where a held or paused body resumes, not in
    /// `startReading` itself: an override there made every stream's reads a dynamic call
    /// (callgrind: +19 instructions per HTTP/1.1 request).
    func startReadingBody() {
        startReading()
        if let b = streamBody { b.innerReads() }
    }

    /// Body bytes of a stream whose head came as values, from its bridge while this connection
    /// reads (`H2BodyPipe`): handled as the same bytes read from the pair would be.
    func takeStreamBody(_ p: UnsafeMutableRawPointer, _ count: Int) {
        onRead(UnsafeRawBufferPointer(start: p, count: count))
    }

    /// The next head comes as HTTP/1.1 bytes through the pair, or primes llhttp for a body:
    /// llhttp starts afresh after a head given as values without a body.
    func prepareForHeadBytes() {
        grpcGiven = nil
        guard headGiven else { return }
        headGiven = false
        parser.reset()
    }
}
