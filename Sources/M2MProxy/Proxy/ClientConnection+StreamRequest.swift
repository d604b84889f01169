/// An HTTP/2 stream's request handed over as values by its bridge (`H2StreamBridge`,
/// `H2RequestHead`): the head is laid out in the head buffer as the HTTP/1.1 head the bridge
/// would have written into the pair, its spans and the parser's state set as llhttp would set
/// them (`HTTPParser.setRequestHead`), and the request goes on exactly as one whose head was
/// parsed (`beginRequest`: the same phases, limits, timers, access log and metrics). Nothing
/// crosses the pair and llhttp runs on nothing. Requests with a body still come as bytes for now
/// (the bridge writes their head and body into the pair; `prepareForHeadBytes`).
extension ClientConnection {
    /// The bridge's stream is a request without a body; the connection is idle.
    func beginStreamRequest(_ given: H2RequestHead, methodCode: Int) {
        state = .readingHead
        noteRequestBegan()
        if head == nil { takeHead() }
        headGiven = true
        let n = given.headLength(chunked: false)
        // What the same head as bytes gets: over max_header_bytes, or more fields than the header
        // table holds (llhttp's overflow), is 431.
        guard let head, n <= worker.limits.maxHeaderBytes, n <= worker.headBufferCapacity,
              given.fieldCount < BufferPool.headerSlots
        else {
            respond(.headerTooLarge)
            return
        }
        given.layOut(at: head, methodCode: methodCode, chunked: false, parser: parser)
        headCount = n
        headParsed = n
        headEnd = n
        beginRequest()
    }

    /// The request given as values ended with its head (`processRequestBytes` finds no byte
    /// after it): what the parser's message end does there.
    func givenRequestEnded(forward: Bool) {
        request.bodyDone = true
        if state == .forwarding {
            stopTimer()
            if forward, let u = upstreamRef { u._withUnsafeGuaranteedRef { startResponseTimer($0) } }
        }
        nextStart = -1
    }

    /// The next request comes as HTTP/1.1 bytes through the pair: llhttp starts afresh after a
    /// head given as values.
    func prepareForHeadBytes() {
        guard headGiven else { return }
        headGiven = false
        parser.reset()
    }
}
