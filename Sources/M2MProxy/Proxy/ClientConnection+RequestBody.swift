/// The request body: run through the parser (framing kept, validated by llhttp), forwarded to
/// the upstream with backpressure, and kept for a replay while it fits `replay_body_bytes`.
extension ClientConnection {
    /// Runs request bytes after the head through the parser: body bytes are forwarded as they
    /// are (Content-Length or chunked framing kept, validated by llhttp), the end of the message
    /// is found, and whatever follows it is kept as the next pipelined request.
    func processRequestBytes(_ base: UnsafeRawPointer, _ count: Int, fromSocket: Bool, forward: Bool) {
        var count = count
        if parser.isChunked && !request.chunkLines.isDone {
            // BWS around `;` and `=` of chunk extensions is removed in place (ChunkLineNormalizer):
            // llhttp parses, and the upstream gets, the cleaned bytes. The bytes are the loop's
            // read buffer or the head buffer, both ours and consumed right here.
            let kept = request.chunkLines.normalize(UnsafeMutableRawPointer(mutating: base), count)
            // Head-buffer calls always run to its end: what follows moved up.
            if !fromSocket { headCount -= count - kept }
            count = kept
            if request.chunkLines.failed {
                request.keepAlive = false
                if request.responseHeadSent { abort() } else { respond(.badRequest("malformed request body: whitespace in a chunk line is allowed only around ';' and '='")) }
                return
            }
        }
        // A bodyless request ended with its head (`HTTPParser.completesBodylessHeads`).
        let event = parser.takeHeadEndedMessage() ? .messageComplete(consumed: 0) : parser.execute(base, count)
        // Only this message's bytes count (pipelined requests may follow it in the same read).
        if case .messageComplete(let n) = event {
            request.bodyBytes &+= UInt64(n)
        } else {
            request.bodyBytes &+= UInt64(count)
        }
        if parser.isChunked && request.bodyBytes > parser.bodyBytes &+ parser.chunkFramingAllowance {
            // Chunk-size lines (leading zeros), extensions and trailers are forwarded raw and
            // llhttp does not bound their length: a body may not carry more framing than a
            // generous allowance per chunk.
            request.keepAlive = false
            respond(.badRequest("chunked framing too large"))
            return
        }
        switch event {
        case .needMore:
            if count > 0 { forwardBody(base, count, fromSocket: fromSocket, forward: forward) }
            if state == .forwarding || !forward {
                if !request.clientPausedForUpstream {
                    startReadingBody()
                    startTimer(ms: worker.limits.bodyTimeoutMs)
                }
            }
        case .messageComplete(let n):
            parser.resume()
            if n > 0 { forwardBody(base, n, fromSocket: fromSocket, forward: forward) }
            request.bodyDone = true
            if state == .forwarding {
                stopTimer()
                // Borrowed: `upstream` cost a retain/release pair per request.
                if forward, let u = upstreamRef { u._withUnsafeGuaranteedRef { startResponseTimer($0) } }
            }
            let rest = count - n
            if rest > 0, let head {
                if fromSocket {
                    // Pipelined bytes from the loop's read buffer: keep them after what the head
                    // buffer must still hold (the head, plus forwarded body bytes while a retry
                    // could re-send them). Reading was stopped during the request whenever it
                    // had a body, so that region is at most the head plus one read and `rest`
                    // (at most one read) fits: capacity is max_header_bytes + 2 reads.
                    let at = request.bodyFromSocket ? headEnd : max(headEnd, forwardedFromHead)
                    precondition(at + rest <= worker.headBufferCapacity, "head buffer overflow")
                    (head + at).copyMemory(from: base + n, byteCount: rest)
                    nextStart = at
                    headCount = at + rest
                } else {
                    nextStart = (base + n) - UnsafeRawPointer(head)
                }
            } else if !fromSocket {
                nextStart = -1
            }
        case .headersComplete:
            abort()
        case .error(.forbiddenTrailer):
            // Trailers are forwarded as raw bytes: a client must not smuggle an Authorization
            // (on a token route), Host or framing field into them. The read holding the name's
            // end is not forwarded; the upstream connection is dropped with the request.
            request.keepAlive = false
            if request.responseHeadSent { abort() } else { respond(.badRequest("forbidden field in chunked trailer")) }
        case .error(let e):
            if request.responseHeadSent {
                abort()
            } else {
                request.keepAlive = false
                respond(.badRequest("malformed request body: \(malformedName(e))"))
            }
        }
    }



    /// Copies body bytes from the socket into the head buffer while the whole body stays within
    /// `limits.replay_body_bytes`, so that the request can still be sent again (after an upstream
    /// `401 invalid_token`, or on a fresh connection when a pooled one closed under it). Past
    /// that the body is only streamed (`bodyFromSocket`), and the request can no longer be replayed.
    func keepForReplay(_ base: UnsafeRawPointer, _ count: Int) {
        guard !request.bodyFromSocket, let head else { return }
        let start = max(forwardedFromHead, headEnd)
        // The room left must still take one read of pipelined bytes after the body.
        if start - headEnd + count <= worker.limits.replayBodyBytes
            && start + count <= worker.headBufferCapacity - worker.readBufferSize {
            (head + start).copyMemory(from: base, byteCount: count)
            forwardedFromHead = start + count
            headCount = max(headCount, forwardedFromHead)
        } else {
            request.bodyFromSocket = true
        }
    }

    func forwardBody(_ base: UnsafeRawPointer, _ count: Int, fromSocket: Bool, forward: Bool) {
        if !fromSocket, let head { forwardedFromHead = (base + count) - UnsafeRawPointer(head) }
        guard forward, let u = upstream else { return }
        if fromSocket { keepForReplay(base, count) }
        if parser.isChunked && parser.bodyBytes > UInt64(worker.limits.maxBodyBytes) {
            // Chunked bodies have no declared size: stop at the limit (decoded bytes count).
            request.keepAlive = false
            respond(.bodyTooLarge)
            return
        }
        if let err = u.write(base, count) {
            upstreamLost(u, err)
            return
        }
        if u.writeQueueSize > Worker.highWater {
            // Backpressure: stop reading the client until the upstream drains.
            pauseClientForUpstream(u)
        }
    }
}
