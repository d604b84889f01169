/// Chunked framing beside the data: the chunk extension checks, and chunked trailer fields:
/// counted, their names checked against `isForbiddenTrailer` (request parsers), and recorded as
/// lines (`HTTPParser.recordTrailers`, for HTTP/2 bridges).
extension HTTPParser {
    func chunkExtension(_ len: Int) -> Int32 {
        chunkExtensionBytes += len
        chunkExtensionPiece += len
        return chunkExtensionBytes > Self.maxChunkExtensionBytes ? -1 : 0
    }

    /// llhttp accepts `5;=v` and `5;a=` (an empty name or value) and reports the empty piece;
    /// RFC 9112 §7.1.1 makes both a token (or a quoted string), never empty. An upstream that
    /// splits the line differently is a framing disagreement, so refuse it like nginx does.
    func chunkExtensionPieceComplete() -> Int32 {
        defer { chunkExtensionPiece = 0 }
        return chunkExtensionPiece == 0 ? -1 : 0
    }

    /// Appends a piece of a trailer name or value; a name after a value starts a new line.
    /// Runs before `headerField` counts the piece: `trailerBytes` is 0 at the message's first.
    func recordTrailer(_ at: UnsafePointer<CChar>, _ len: Int, value: Bool) {
        if trailerBytes == 0 && !value {
            // The message's first trailer: lines of an earlier message go.
            trailerLines.removeAll(keepingCapacity: true)
            trailerInValue = false
        }
        if value && !trailerInValue {
            trailerLines.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
        } else if !value && trailerInValue {
            trailerLines.append(contentsOf: [13, 10])
        }
        trailerInValue = value
        trailerLines.append(contentsOf: UnsafeRawBufferPointer(start: at, count: len))
    }

    /// The trailer lines of the message just completed (empty when none), each ending in CRLF.
    func takeTrailerLines() -> [UInt8] {
        guard trailerBytes > 0 else { return [] }
        if trailerInValue {
            trailerLines.append(contentsOf: [13, 10])
        } else if !trailerLines.isEmpty {
            // The last field had an empty value (llhttp reports no value piece then).
            trailerLines.append(contentsOf: [UInt8(ascii: ":"), 13, 10])
        }
        trailerInValue = false
        defer { trailerLines = [] }
        return trailerLines
    }

    /// A piece of a trailer field's name (rare: out of line, so that the head's field callback
    /// stays small; static, so that calling it does not make the callback save the register
    /// of a method's `self` on every call).
    @inline(never)
    static func trailerField(_ o: HTTPParser, _ at: UnsafePointer<CChar>, _ len: Int) -> Int32 {
        if o.recordTrailers { o.recordTrailer(at, len, value: false) }
        // Never spans: the pieces of a trailer line may sit in different reads.
        o.trailerBytes &+= UInt64(len) + 4
        if o.trailerNameCount + len <= 64 {
            (o.trailerName + o.trailerNameCount).copyMemory(from: at, byteCount: len)
        }
        o.trailerNameCount += len
        return 0
    }

    /// A piece of a trailer field's value.
    @inline(never)
    static func trailerValue(_ o: HTTPParser, _ at: UnsafePointer<CChar>, _ len: Int) {
        if o.recordTrailers { o.recordTrailer(at, len, value: true) }
        o.trailerBytes &+= UInt64(len)
    }

    /// A field name is complete (llhttp's on_header_field_complete, set only while a chunked
    /// message's trailers are checked, `checkingTrailers`).
    func headerFieldComplete() -> Int32 {
        guard inTrailers else { return 0 }
        let n = trailerNameCount
        trailerNameCount = 0
        guard n <= 64, let check = isForbiddenTrailer else { return 0 }
        if check(ByteSpan(base: UnsafeRawPointer(trailerName), count: n)) {
            // Stop here: the caller answers 400 before forwarding this read.
            forbiddenTrailer = true
            return -1
        }
        return 0
    }
}
