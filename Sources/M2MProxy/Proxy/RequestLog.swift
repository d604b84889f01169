/// What the logging phase (STYLE.md §6: exactly once per request, success or error) needs to
/// know about the request in progress on one client connection: timestamps, the status the
/// client got, why it failed, and its request ID. One per connection, reset per request, so
/// nothing is allocated per request.
final class RequestLog {
    /// `X-Request-Id: ` + up to 16 generated hex digits + CRLF.
    private static let prefix: StaticString = "X-Request-Id: "
    static let generatedIDLength = 16
    /// Client-supplied IDs longer than this, or with bytes outside 0x21–0x7E, are replaced.
    static let maxClientIDLength = 128

    /// `uv_hrtime` when the request's first byte arrived (0 = no request in progress).
    var startNs: UInt64 = 0
    /// The connection's `bytesWritten` at that moment: the request's bytes_out is the difference.
    var bytesWrittenAtStart: UInt64 = 0
    /// The status the client got: the upstream's (from its response head) or the proxy's own;
    /// 0 = none was sent (logged as 499).
    var status = 0
    /// The proxy's error code (`ProxyError.code`) when it answered itself.
    var errorCode: String?
    /// The exchange was cut (client gone, or the response broken after its head was sent).
    var aborted = false
    /// The connection is an HTTP/2 stream's (`H2StreamBridge`): set once, never reset.
    var http2 = false
    var upstreamError: UpstreamErrorKind?
    /// The endpoint of the request's latest upstream attempt: the one that answered, when one
    /// did (the access log's `upstream`). Valid while `endpointChosen`; otherwise an earlier
    /// request's, kept so that the next request to it assigns nothing.
    var endpoint: UpstreamPool?
    var endpointChosen = false
    /// When the upstream phase began (connection taken or opened), and when its response head
    /// arrived; 0 = not reached.
    var upstreamStartNs: UInt64 = 0
    var upstreamHeadNs: UInt64 = 0
    /// When the request parked in the token cache; 0 = it did not wait.
    var tokenWaitStartNs: UInt64 = 0
    var tokenWaitEndNs: UInt64 = 0
    /// The request ID: the client's header value (a span into the head buffer) or the generated
    /// one (into `line`). Empty until chosen.
    var requestID = ByteSpan.empty
    /// The client's X-Request-Id headers are dropped and `line` is forwarded instead.
    var replacesClientID = false
    /// Whether `line` holds a generated ID to forward.
    private(set) var generated = false
    /// `X-Request-Id: <generated>\r\n`, written to the upstream by reference.
    private let line: UnsafeMutableRawPointer
    private let lineCapacity: Int

    init() {
        lineCapacity = Self.prefix.utf8CodeUnitCount + Self.generatedIDLength + 2
        line = .allocate(byteCount: lineCapacity, alignment: 1)
        line.copyMemory(from: Self.prefix.utf8Start, byteCount: Self.prefix.utf8CodeUnitCount)
        line.storeBytes(of: 0x0D, toByteOffset: lineCapacity - 2, as: UInt8.self)
        line.storeBytes(of: 0x0A, toByteOffset: lineCapacity - 1, as: UInt8.self)
    }

    deinit { line.deallocate() }

    func begin(now: UInt64, bytesWritten: UInt64) {
        startNs = now
        bytesWrittenAtStart = bytesWritten
        status = 0
        // Assigned only when set: storing nil over a nil String still calls
        // swift_bridgeObjectRelease (callgrind: ~25 instructions per request).
        if errorCode != nil { errorCode = nil }
        aborted = false
        upstreamError = nil
        endpointChosen = false
        upstreamStartNs = 0
        upstreamHeadNs = 0
        tokenWaitStartNs = 0
        tokenWaitEndNs = 0
        requestID = .empty
        replacesClientID = false
        generated = false
    }

    /// The line to forward to the upstream, or nil when the client's own header goes through.
    var forwardedLine: ByteSpan? {
        generated ? ByteSpan(base: UnsafeRawPointer(line), count: lineCapacity) : nil
    }

    /// Uses a fresh ID from `generator` (written as 16 lowercase hex digits, no `String`).
    func generateID(_ generator: RequestIDGenerator) {
        let idStart = line + Self.prefix.utf8CodeUnitCount
        generator.next(into: idStart)
        requestID = ByteSpan(base: UnsafeRawPointer(idStart), count: Self.generatedIDLength)
        generated = true
    }

    /// A client's ID is kept when it is 1–128 visible ASCII characters (no spaces, no controls):
    /// anything else could forge log fields or smuggle bytes into the upstream's logs.
    static func isSane(_ value: ByteSpan) -> Bool {
        guard value.count > 0, value.count <= maxClientIDLength else { return false }
        for i in 0..<value.count where value[i] < 0x21 || value[i] > 0x7E { return false }
        return true
    }
}

@available(*, unavailable)
extension RequestLog: Sendable {}
