/// One connection on the admin port: reads one request (head and any body, which is ignored),
/// hands it to the `AdminHandler`, writes the answer and closes (`Connection: close`). The
/// admin port is for probes and operators, not traffic: simplicity over keep-alive.
final class AdminConnection: UVStream {
    /// A larger request is answered 431.
    static let bufferBytes = 16 * 1024
    static let requestTimeoutMs = 10_000
    /// Bound on waiting for a forced token fetch (`POST /tokens/refresh`).
    static let refreshTimeoutMs = 120_000

    private let handler: AdminHandler
    private let parser = HTTPParser(kind: .request, maxHeaders: 64)
    private let buffer: UnsafeMutableRawPointer
    private var count = 0
    private var parsed = 0
    private var method = ""
    private var target = ""
    private var headDone = false
    /// Once the request is complete nothing more is read or answered.
    private var answered = false

    init(io: LoopIO, handler: AdminHandler) {
        self.handler = handler
        buffer = .allocate(byteCount: Self.bufferBytes, alignment: 16)
        super.init(io: io)
    }

    deinit { buffer.deallocate() }

    func start() {
        startTimer(ms: Self.requestTimeoutMs)
        startReading()
    }

    override func onRead(_ data: UnsafeRawBufferPointer) {
        guard !answered else { return }
        if headDone {
            // Body bytes: parsed from the read buffer for framing only, never kept.
            parse(data.baseAddress!, data.count)
            return
        }
        guard count + data.count <= Self.bufferBytes else {
            send(AdminResponse.error(431, "header_too_large", "request head too large"))
            return
        }
        (buffer + count).copyMemory(from: data.baseAddress!, byteCount: data.count)
        count += data.count
        parse(buffer + parsed, count - parsed)
        parsed = count
    }

    private func parse(_ base: UnsafeRawPointer, _ n: Int) {
        var offset = 0
        while !answered {
            switch parser.execute(base + offset, n - offset) {
            case .needMore:
                return
            case .headersComplete(let consumed):
                offset += consumed
                parser.resume()
                headDone = true
                method = parser.method.makeString()
                target = parser.url.makeString()
                if parser.hasContentLength && parser.contentLength > 1024 * 1024 {
                    send(AdminResponse.error(413, "body_too_large", "admin requests take no body"))
                }
            case .messageComplete:
                answered = true
                stopReading()
                startTimer(ms: Self.refreshTimeoutMs)
                handler.handle(method: method, target: target) { [self] response in send(response) }
                return
            case .error:
                send(AdminResponse.error(400, "bad_request", "malformed request"))
                return
            }
        }
    }

    private func send(_ response: AdminResponse) {
        answered = true
        guard !isClosing else { return }
        stopReading()
        let bytes = response.bytes
        let failed = bytes.withUnsafeBytes { write($0.baseAddress!, $0.count) }
        if failed != nil || pendingWrites == 0 {
            close()
        } else {
            startTimer(ms: Self.requestTimeoutMs)
        }
    }

    override func onWriteDone(_ error: UVError?) {
        if error != nil || pendingWrites == 0 { close() }
    }

    override func onReadEnd(_ error: UVError) {
        // A client that half-closes after its request still gets the answer.
        if !answered || error != .eof { close() }
    }

    override func onTimer() { close() }
}
