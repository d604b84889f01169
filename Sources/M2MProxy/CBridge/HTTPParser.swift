private import CLLHTTP

/// The llhttp wrapper (STYLE.md §3, after NIO's `BetterHTTPParser`): it owns the `llhttp_t`, its
/// callbacks are non-capturing closures that find this object through `parser->data`, and they
/// only record spans and flags. The owner drives it and reads the results; no callback re-enters
/// the proxy. Lenient flags stay off: framing must be strict in front of other parsers.
///
/// It pauses after every head and every message so that the owner sees message boundaries in
/// the byte stream (exact offsets for body forwarding and pipelining).
final class HTTPParser {
    enum Kind { case request, response }

    private let parser: UnsafeMutablePointer<llhttp_t>
    private let settings: UnsafeMutablePointer<llhttp_settings_t>
    /// Header slots available now: the owned table's size, or the lent table's (0 while none is
    /// lent; a header then fails the parse as too many headers, never writes anywhere).
    private(set) var maxHeaders: Int
    /// The header table: owned (`maxHeaders` > 0 at init) or lent per message by the owner
    /// (`lendHeaders`), so that an idle keep-alive connection holds none.
    private var headerTable: UnsafeMutablePointer<HeaderSpan>?
    private let ownsHeaders: Bool
    /// Valid for `0..<headerCount` while a table is owned or lent.
    var headers: UnsafeMutablePointer<HeaderSpan> { headerTable.unsafelyUnwrapped }
    private(set) var headerCount = 0
    /// The slot of the last field (valid while `headerCount` > 0) and where its name's last piece
    /// ended (nil before the first): per-field bookkeeping without indexing the table.
    private var lastHeader: UnsafeMutablePointer<HeaderSpan>?
    private var nameEnd: UnsafeRawPointer?
    private(set) var method = ByteSpan.empty
    private(set) var url = ByteSpan.empty
    private var pending: Pending = .none
    private var overflow = false
    /// For responses to HEAD: tell llhttp there is no body.
    var skipBody = false
    /// Request parsers: a head that ends its message (no body: no Content-Length above 0, no
    /// Transfer-Encoding, no upgrade) is completed in the same `execute`, which still reports
    /// `.headersComplete` (at the same offset) and sets `headEndedMessage`; the owner takes that
    /// end (`takeHeadEndedMessage`) instead of an `execute` of its own (callgrind: one
    /// `llhttp_execute` fewer per bodyless request).
    var completesBodylessHeads = false
    /// The message ended with its head (`completesBodylessHeads`, `parsesBodyWithHead`).
    private(set) var headEndedMessage = false
    /// Response parsers: a head whose body has a declared length (status 200 and up, not 101 or
    /// 401, which the owner acts on at the head) does not pause; llhttp goes on into the body in
    /// the same `execute`, which still reports `.headersComplete` at the head's end and keeps
    /// what the body part came to for `takeBodyWithHead` (callgrind: one `llhttp_execute` fewer
    /// per response whose body came with its head).
    var parsesBodyWithHead = false
    /// In this `execute`: the head goes on into its body, where that began, and what the body
    /// part came to (until `takeBodyWithHead`).
    private var bodyWithHead = false
    private var firstBodyAt: UnsafeRawPointer?
    private var bodyOutcome: ParseEvent?
    /// When set, body pieces (de-chunked) are collected in `bodySpans` (HTTP/1.0 clients, token answers).
    var recordBody = false {
        didSet {
            // Reserved on first use only: request parsers never record bodies, so their
            // connections carry no span array.
            if recordBody && bodySpans.capacity == 0 { bodySpans.reserveCapacity(32) }
        }
    }
    private(set) var bodySpans: [ByteSpan] = []
    /// Decoded body bytes of the current message (chunk framing excluded).
    private(set) var bodyBytes: UInt64 = 0
    /// Chunks seen in the current message.
    private(set) var chunks: UInt64 = 0

    /// Trailer field bytes of the current message (field lines after the head).
    var trailerBytes: UInt64 = 0
    private(set) var inTrailers = false
    /// When set, the chunked trailer fields are copied into `trailerLines` as `name: value\r\n`
    /// lines (HTTP/2 bridges turn them into a trailing HEADERS frame: gRPC's status). Read in
    /// the trailer branch of the field callbacks only (`trailerField`, `trailerValue`): one
    /// callback per event for every parser. Swapping llhttp's callbacks for recording parsers
    /// instead made the compiler merge the two header-field thunks into one indirect call
    /// (callgrind: ~20 instructions per header field of every message).
    var recordTrailers = false
    /// Kept by `recordTrailer` and `takeTrailerLines` (`HTTPParser+Trailers`).
    var trailerLines: [UInt8] = []
    var trailerInValue = false

    /// Raw framing a chunked message may carry beyond its data: per chunk a size line (with a
    /// few leading zeros) and its CRLFs, plus the extensions and trailer fields actually seen
    /// with their punctuation. Leading zeros are the one thing llhttp does not bound.
    var chunkFramingAllowance: UInt64 {
        (chunks + 2) * 48 + UInt64(chunkExtensionBytes) * 2 + trailerBytes * 2 + 64
    }

    private enum Pending { case none, headers, message }

    /// `maxHeaders` > 0: the parser owns a table of that many headers. 0: it parses heads only
    /// while the owner lends it a table (`lendHeaders`), as connections do with the one in their
    /// pooled head buffer.
    init(kind: Kind, maxHeaders: Int = 128) {
        self.maxHeaders = maxHeaders
        ownsHeaders = maxHeaders > 0
        headerTable = maxHeaders > 0 ? .allocate(capacity: maxHeaders) : nil
        parser = .allocate(capacity: 1)
        settings = .allocate(capacity: 1)
        llhttp_settings_init(settings)
        settings.pointee.on_message_begin = { p in
            owner(p)._withUnsafeGuaranteedRef { $0.messageBegin() }
            return 0
        }
        settings.pointee.on_method = { p, at, len in
            owner(p)._withUnsafeGuaranteedRef { $0.method.extend(at.unsafelyUnwrapped, len) }
            return 0
        }
        settings.pointee.on_url = { p, at, len in
            owner(p)._withUnsafeGuaranteedRef { $0.url.extend(at.unsafelyUnwrapped, len) }
            return 0
        }
        settings.pointee.on_header_field = { p, at, len in
            // The result through a local: a closure returning it was not inlined here, and cost
            // an indirect call per header field (callgrind: ~20 instructions each).
            var rc: Int32 = 0
            owner(p)._withUnsafeGuaranteedRef { rc = $0.headerField(at.unsafelyUnwrapped, len) }
            return rc
        }
        settings.pointee.on_header_value = { p, at, len in
            owner(p)._withUnsafeGuaranteedRef { $0.headerValue(at.unsafelyUnwrapped, len) }
            return 0
        }
        // No on_status, on_header_value_complete or (unless trailers are checked, see
        // `isForbiddenTrailer`) on_header_field_complete: a callback llhttp need not call costs
        // nothing, and those ran for every header of every message.
        settings.pointee.on_headers_complete = { p in
            owner(p)._withUnsafeGuaranteedRef { $0.headersComplete() }
        }
        settings.pointee.on_chunk_header = { p in
            owner(p)._withUnsafeGuaranteedRef { $0.chunks &+= 1 }
            return 0
        }
        settings.pointee.on_chunk_extension_name = { p, _, len in
            owner(p)._withUnsafeGuaranteedRef { $0.chunkExtension(len) }
        }
        settings.pointee.on_chunk_extension_name_complete = { p in
            owner(p)._withUnsafeGuaranteedRef { $0.chunkExtensionPieceComplete() }
        }
        settings.pointee.on_chunk_extension_value = { p, _, len in
            owner(p)._withUnsafeGuaranteedRef { $0.chunkExtension(len) }
        }
        settings.pointee.on_chunk_extension_value_complete = { p in
            owner(p)._withUnsafeGuaranteedRef { $0.chunkExtensionPieceComplete() }
        }
        settings.pointee.on_body = { p, at, len in
            owner(p)._withUnsafeGuaranteedRef { o in
                if o.bodyWithHead && o.firstBodyAt == nil { o.firstBodyAt = UnsafeRawPointer(at.unsafelyUnwrapped) }
                o.bodyBytes &+= UInt64(len)
                if o.recordBody { o.bodySpans.append(ByteSpan(base: UnsafeRawPointer(at.unsafelyUnwrapped), count: len)) }
            }
            return 0
        }
        settings.pointee.on_message_complete = { p in
            owner(p)._withUnsafeGuaranteedRef { o in
                // `.headers` here: the head ended the message (`headersComplete` did not pause).
                if o.pending == .headers { o.headEndedMessage = true } else { o.pending = .message }
            }
            return Int32(HPE_PAUSED.rawValue)
        }
        llhttp_init(parser, kind == .request ? HTTP_REQUEST : HTTP_RESPONSE, settings)
        // Not retained: the owner keeps this object alive as long as it calls execute.
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        trailerName.deallocate()
        if ownsHeaders { headerTable?.deallocate() }
        parser.deallocate()
        settings.deallocate()
    }

    /// Parses `count` bytes at `base`. Spans recorded point into that memory, so bytes of one head
    /// must stay at a stable address until the owner is done with the head.
    func execute(_ base: UnsafeRawPointer, _ count: Int) -> ParseEvent {
        var rc = llhttp_execute(parser, base.assumingMemoryBound(to: CChar.self), count)
        if bodyWithHead && (rc == HPE_OK || rc == HPE_PAUSED) { return headWithBody(base, count, ended: rc == HPE_PAUSED) }
        if rc == HPE_PAUSED_UPGRADE && pending == .none {
            // After an Upgrade message, llhttp stops once more (our own pause at its end came
            // first and was reported). The owner switches to a tunnel without parsing again when
            // the upgrade is accepted; when it parses again, the upgrade was refused and the
            // connection goes on as HTTP.
            llhttp_resume_after_upgrade(parser)
            rc = llhttp_execute(parser, base.assumingMemoryBound(to: CChar.self), count)
        }
        if rc == HPE_OK { return .needMore }
        if rc == HPE_PAUSED || rc == HPE_PAUSED_UPGRADE {
            let pos = llhttp_get_error_pos(parser)
            let consumed = pos.map { UnsafeRawPointer($0) - base } ?? count
            if rc == HPE_PAUSED_UPGRADE {
                llhttp_resume_after_upgrade(parser)
                pending = .message
            }
            let p = pending
            pending = .none
            switch p {
            case .headers: return .headersComplete(consumed: consumed)
            case .message, .none: return .messageComplete(consumed: consumed)
            }
        }
        if overflow { return .error(.tooManyHeaders) }
        if forbiddenTrailer { return .error(.forbiddenTrailer) }
        return .error(.invalid(code: Int32(rc.rawValue)))
    }

    func resume() { llhttp_resume(parser) }

    /// The head ended in this call and llhttp went on into the body, to the message's end
    /// (`ended`) or the input's; the head ends where the body began (or parsing stopped).
    private func headWithBody(_ base: UnsafeRawPointer, _ count: Int, ended: Bool) -> ParseEvent {
        bodyWithHead = false
        pending = .none
        let end = ended ? llhttp_get_error_pos(parser).map { UnsafeRawPointer($0) } ?? base + count : base + count
        let headEnd = firstBodyAt ?? end
        firstBodyAt = nil
        bodyOutcome = headEndedMessage ? .messageComplete(consumed: end - headEnd) : .needMore
        headEndedMessage = false
        return .headersComplete(consumed: headEnd - base)
    }

    /// After `.headersComplete`: what the body bytes after the head in that call came to, as
    /// `execute` on them would have said; nil when the head paused as usual (`execute` them).
    func takeBodyWithHead() -> ParseEvent? {
        defer { bodyOutcome = nil }
        return bodyOutcome
    }

    /// Whether the current message ended with its head (`completesBodylessHeads`); true once: the
    /// owner treats it as `execute` returning `.messageComplete(consumed: 0)` after the head.
    func takeHeadEndedMessage() -> Bool {
        guard headEndedMessage else { return false }
        headEndedMessage = false
        return true
    }

    /// Parses heads into `table` (`capacity` slots) from now on; for a parser made with
    /// `maxHeaders: 0`. The table must stay valid until `returnHeaders`.
    func lendHeaders(_ table: UnsafeMutablePointer<HeaderSpan>, capacity: Int) {
        assert(!ownsHeaders, "the parser owns its header table")
        headerTable = table
        maxHeaders = capacity
    }

    /// The lent table goes back (the message is done with): no header span is valid after this.
    func returnHeaders() {
        assert(!ownsHeaders, "the parser owns its header table")
        headerTable = nil
        maxHeaders = 0
        headerCount = 0
        nameEnd = nil
    }

    /// Tells llhttp the peer closed: completes a close-delimited message. True if that was clean.
    func finish() -> Bool {
        let rc = llhttp_finish(parser)
        return rc == HPE_OK || rc == HPE_PAUSED
    }

    func reset() {
        llhttp_reset(parser)
        messageBegin()
    }

    /// A request head without a body that came as values, not bytes (an HTTP/2 stream's): the
    /// owner laid it out as HTTP/1.1 lines where `method`, `url` and the lent table's first
    /// `headerCount` spans point. Records the rest as llhttp records it for that head (version
    /// 1.1, keep-alive, the method's code, a Content-Length), so that every reader of the parser
    /// sees what a parse of those bytes gives. llhttp's own state is not a message's: `reset()`
    /// before parsing bytes again. The message ends with the head, as `completesBodylessHeads`
    /// ends a parsed one: the owner takes that end (`takeHeadEndedMessage`) instead of an
    /// `execute` of zero bytes (callgrind: ~100 instructions per HTTP/2 request).
    func setRequestHead(method: ByteSpan, methodCode: Int, url: ByteSpan, headerCount: Int, contentLength: UInt64?) {
        messageBegin()
        headEndedMessage = true
        setHeadSpans(method: method, methodCode: methodCode, url: url, headerCount: headerCount)
        parser.pointee.http_major = 1
        parser.pointee.http_minor = 1
        parser.pointee.upgrade = 0
        parser.pointee.flags = contentLength != nil ? UInt16(F_CONTENT_LENGTH.rawValue) : 0
        parser.pointee.content_length = contentLength ?? 0
    }

    /// The head's own spans and method, over what a parse (or `primeBody`) recorded.
    func setHeadSpans(method: ByteSpan, methodCode: Int, url: ByteSpan, headerCount: Int) {
        precondition(headerCount <= maxHeaders, "more headers than the lent table holds")
        self.method = method
        self.url = url
        self.headerCount = headerCount
        parser.pointee.method = UInt8(methodCode)
    }

    var httpMajor: Int { Int(llhttp_get_http_major(parser)) }
    var httpMinor: Int { Int(llhttp_get_http_minor(parser)) }
    var statusCode: Int { Int(llhttp_get_status_code(parser)) }
    /// llhttp's method enum value (HTTP_GET = 1, HTTP_HEAD = 2, ...).
    var methodCode: Int { Int(llhttp_get_method(parser)) }
    var shouldKeepAlive: Bool { llhttp_should_keep_alive(parser) != 0 }
    var messageNeedsEOF: Bool { llhttp_message_needs_eof(parser) != 0 }
    var isChunked: Bool { (parser.pointee.flags & UInt16(F_CHUNKED.rawValue)) != 0 }
    /// Any Transfer-Encoding header was present (chunked or not).
    var hasTransferEncoding: Bool { (parser.pointee.flags & UInt16(F_TRANSFER_ENCODING.rawValue)) != 0 }
    var hasContentLength: Bool { (parser.pointee.flags & UInt16(F_CONTENT_LENGTH.rawValue)) != 0 }
    /// Declared Content-Length (valid when `hasContentLength`, read right after the head).
    var contentLength: UInt64 { parser.pointee.content_length }
    var isUpgrade: Bool { llhttp_get_upgrade(parser) != 0 }

    static let methodHEAD = 2
    static let methodCONNECT = 5

    /// llhttp's name of an error code, for logs.
    static func errorName(_ code: Int32) -> String {
        String(cString: llhttp_errno_name(llhttp_errno_t(UInt32(code))))
    }

    var errorReason: String {
        guard let r = llhttp_get_error_reason(parser) else { return "" }
        return String(cString: r)
    }

    func clearBodySpans() { bodySpans.removeAll(keepingCapacity: true) }

    // MARK: callbacks

    private func messageBegin() {
        if checkingTrailers {
            checkingTrailers = false
            settings.pointee.on_header_field_complete = nil
        }
        headEndedMessage = false
        bodyWithHead = false
        firstBodyAt = nil
        bodyOutcome = nil
        chunkExtensionBytes = 0
        chunkExtensionPiece = 0
        chunks = 0
        trailerBytes = 0
        inTrailers = false
        forbiddenTrailer = false
        trailerNameCount = 0
        headerCount = 0
        nameEnd = nil
        bodyBytes = 0
        method = .empty
        url = .empty
        overflow = false
    }

    /// Set when a trailer field's name is one the owner forbids (`isForbiddenTrailer`).
    var forbiddenTrailer = false
    /// Decides on a complete trailer field name (request parsers); nil = trailers not checked.
    var isForbiddenTrailer: ((ByteSpan) -> Bool)?
    /// Whether llhttp's on_header_field_complete is set: only from the head of a chunked message
    /// with `isForbiddenTrailer` to its end (`headersComplete`, `messageBegin`), since only a
    /// chunked body has trailers. Set for every message, llhttp called it for every head field
    /// too (~30 instructions per request header, callgrind).
    private var checkingTrailers = false
    /// Trailer names arrive in pieces from different reads (the loop's read buffer is reused),
    /// so their bytes are copied here; only short names can be forbidden ones.
    let trailerName = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
    var trailerNameCount = 0

    /// Inlined into its llhttp callback (a call per header field otherwise).
    @inline(__always)
    private func headerField(_ at: UnsafePointer<CChar>, _ len: Int) -> Int32 {
        if inTrailers { return Self.trailerField(self, at, len) }
        // A name reported in pieces (split across `execute` calls) continues exactly where its
        // last piece ended; a new field's name never does (a colon and a line end lie between).
        let p = UnsafeRawPointer(at)
        if p == nameEnd {
            lastHeader.unsafelyUnwrapped.pointee.name.count += len
            nameEnd = p + len
            return 0
        }
        if len == 0 { return 0 }
        if headerCount == maxHeaders {
            overflow = true
            return -1
        }
        let slot = headers + headerCount
        slot.pointee = HeaderSpan(name: ByteSpan(base: p, count: len), value: .empty)
        lastHeader = slot
        nameEnd = p + len
        headerCount += 1
        return 0
    }

    /// Chunk extensions have no length limit in llhttp and are forwarded raw: cap them per
    /// message, so that a 1 KB body cannot carry megabytes past max_body_bytes
    /// (`HTTPParser+ChunkedFraming`).
    static let maxChunkExtensionBytes = 4096
    var chunkExtensionBytes = 0
    /// Bytes of the extension name or value being parsed (it may span reads).
    var chunkExtensionPiece = 0

    @inline(__always)
    private func headerValue(_ at: UnsafePointer<CChar>, _ len: Int) {
        if inTrailers { return Self.trailerValue(self, at, len) }
        lastHeader.unsafelyUnwrapped.pointee.value.extend(at, len)
    }

    private func headersComplete() -> Int32 {
        inTrailers = true
        pending = .headers
        if isForbiddenTrailer != nil && isChunked {
            checkingTrailers = true
            settings.pointee.on_header_field_complete = { p in
                owner(p)._withUnsafeGuaranteedRef { $0.headerFieldComplete() }
            }
        }
        if completesBodylessHeads {
            let framing = UInt16(F_CHUNKED.rawValue | F_TRANSFER_ENCODING.rawValue)
            if parser.pointee.flags & framing == 0 && parser.pointee.content_length == 0 && llhttp_get_upgrade(parser) == 0 {
                // On to on_message_complete, which pauses (content_length 0: none declared).
                return 0
            }
        }
        if parsesBodyWithHead && !skipBody {
            let flags = parser.pointee.flags
            let status = llhttp_get_status_code(parser)
            if flags & UInt16(F_CHUNKED.rawValue | F_TRANSFER_ENCODING.rawValue) == 0 && flags & UInt16(F_CONTENT_LENGTH.rawValue) != 0
                && status >= 200 && status != 101 && status != 401 {
                bodyWithHead = true
                return 0
            }
        }
        if skipBody && llhttp_get_status_code(parser) >= 200 {
            // llhttp: 1 = no body; on_message_complete (which pauses) follows at once.
            // Interim (1xx) answers to a HEAD are ordinary heads: the final one follows them.
            pending = .none
            return 1
        }
        return Int32(HPE_PAUSED.rawValue)
    }
}

@available(*, unavailable)
extension HTTPParser: Sendable {}

@inline(__always)
private func owner(_ p: UnsafeMutablePointer<llhttp_t>?) -> Unmanaged<HTTPParser> {
    // Unchecked: llhttp passes its parser, whose `data` `init` set (callgrind: a nil check on
    // each, ~20 callbacks per request).
    Unmanaged<HTTPParser>.fromOpaque(p.unsafelyUnwrapped.pointee.data.unsafelyUnwrapped)
}
