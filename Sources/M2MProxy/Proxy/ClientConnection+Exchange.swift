/// The end of an exchange and the start of the next: the request is logged once
/// (`endRequest`), then the connection closes (after flushing, lingering when input may still
/// come), or serves the next pipelined request, or goes idle with its head buffer returned.
extension ClientConnection {
    /// Closes once queued response bytes are written (bounded by idle_timeout_ms).
    ///
    /// `linger`: the client may still be sending (an error answered before its body was read).
    /// Closing a socket with unread input makes the kernel send RST, which can destroy the
    /// response in flight; so send FIN after the response and read and discard for a while
    /// first (nginx's lingering_close).
    func closeWhenFlushed(linger: Bool = false) {
        state = .closing
        if linger {
            lingering = true
            shutdownWrite()
            startReading()
            startTimer(ms: Self.lingerMs)
            return
        }
        stopReading()
        startTimer(ms: worker.limits.idleTimeoutMs)
        if pendingWrites == 0 { close() }
    }

    static let lingerMs = 2000

    func endRequest() {
        if driver.requestEnded(self) { worker.requestEnded() }
    }

    /// After a complete response: next pipelined request, or idle keep-alive, or close.
    func finishExchange() {
        endRequest()
        if !request.keepAlive || isClosing || (clientEOF && nextStart < 0) {
            // Unread input may follow (pipelined bytes after a `Connection: close` request, a
            // body not consumed): linger so the response is not lost to a reset.
            closeWhenFlushed(linger: nextStart >= 0 || !request.bodyDone)
            return
        }
        resetRequest()
        if nextStart >= 0, let head {
            let rest = headCount - nextStart
            if rest > 0 { head.copyMemory(from: head + nextStart, byteCount: rest) }
            headCount = rest
            headParsed = 0
            nextStart = -1
            state = .readingHead
            noteRequestBegan()
            startTimer(ms: worker.limits.headerTimeoutMs)
            if writeQueueSize > Worker.highWater {
                // The client is not reading its responses: answer nothing more (and read nothing
                // more) until it drains, or it could make the proxy queue without bound.
                stopReading()
                waitingForClientDrain = true
                startTimer(ms: worker.limits.idleTimeoutMs)
                return
            }
            resumeReadingIfRoom()
            if parsingPipelined {
                pipelinedPending = true
                return
            }
            parsingPipelined = true
            repeat {
                pipelinedPending = false
                parseHead()
            } while pipelinedPending && !isClosing
            parsingPipelined = false
        } else {
            headCount = 0
            headParsed = 0
            giveHead()
            state = .idle
            startTimer(ms: worker.limits.idleTimeoutMs)
            startReading()
        }
    }

    /// Reads more only while one more read fits after what the head buffer holds.
    func resumeReadingIfRoom() {
        if clientEOF { return }
        if head == nil || worker.headBufferCapacity - headCount >= worker.readBufferSize {
            startReading()
        }
    }

    /// The next request starts from a fresh context; the head buffer's offsets of this one go.
    func resetRequest() {
        request.reset()
        headEnd = 0
        forwardedFromHead = 0
    }

    /// Keeps bytes that arrive while a request is in progress: unparsed request bytes before the
    /// request is forwarded, pipelined requests after it. Reading stops before the buffer could
    /// overflow (one read is at most `readBufferSize`) and resumes when the request ends.
    func stash(_ data: UnsafeRawBufferPointer) {
        if state == .closing { return }
        guard let head, headCount + data.count <= worker.headBufferCapacity else {
            abort()
            return
        }
        if request.bodyDone && nextStart < 0 { nextStart = headCount }
        (head + headCount).copyMemory(from: data.baseAddress!, byteCount: data.count)
        headCount += data.count
        if worker.headBufferCapacity - headCount < worker.readBufferSize { stopReading() }
    }
}
