private import Glibc

/// One client_credentials request to a token endpoint, on the project's own libuv + llhttp code
/// (Envoy's `oauth_client` role): connect, send the pre-built request, read the answer to its end,
/// classify it. The cache allows one per key at a time (single flight).
final class TokenFetch: UVStream {
    enum Outcome {
        /// `startedAt`: loop time when the fetch began, the origin of the token's lifetime.
        case success(TokenResponse, lifetimeSeconds: Int, startedAt: UInt64)
        case failure(TokenFetchFailure)
    }

    /// The whole exchange, connect included, must finish within this; waiting requests give up
    /// earlier (token_wait_ms) but the fetch goes on and its token is still cached.
    static let timeoutMs = 15_000
    /// Token answers are small; anything larger is not a token answer.
    static let maxResponseBytes = 256 * 1024

    private unowned(unsafe) let entry: TokenEntry
    private unowned(unsafe) let cache: TokenCache
    private var response: [UInt8] = []
    private var finished = false
    private var connected = false
    private let parser = HTTPParser(kind: .response, maxHeaders: 64)
    private var startedAt: UInt64 = 0

    init(io: LoopIO, entry: TokenEntry, cache: TokenCache) {
        self.entry = entry
        self.cache = cache
        super.init(io: io)
    }

    func start() {
        startedAt = io.now
        let url = entry.credential.tokenURL
        startTimer(ms: Self.timeoutMs)
        io.resolver.resolve(host: url.host, port: url.port) { [self] result in
            guard !finished else { return }
            switch result {
            case .success(let address):
                if let problem = startTLS() {
                    fail(.transient("TLS setup for the token endpoint failed: \(problem)"))
                    return
                }
                do throws(UVError) {
                    try connect(to: address)
                } catch {
                    fail(.unreachable("token endpoint unreachable: \(error.message)"))
                }
            case .failure(let error):
                fail(.unreachable("token endpoint host \(url.host) cannot be resolved: \(error.message)"))
            }
        }
    }

    func cancel() {
        finished = true
        close()
    }

    /// For an https token_url: TLS with the credential's settings.
    private func startTLS() -> String? {
        let url = entry.credential.tokenURL
        guard url.scheme == .https else { return nil }
        switch io.tls.clientContext(entry.credential.tls) {
        case .success(let ctx):
            return enableClientTLS(ctx, serverName: url.host, resume: nil) ? nil : "cannot create a TLS connection"
        case .failure(let e):
            return e.message
        }
    }

    override func onConnect(_ error: UVError?) {
        guard !finished else { return }
        if let error, error == .eproto {
            fail(.transient("TLS handshake with the token endpoint failed: \(tlsFailure ?? "unknown error")"))
            return
        }
        if let error {
            fail(.unreachable("token endpoint unreachable: \(error.message)"))
            return
        }
        connected = true
        let err = entry.requestBytes.withUnsafeBytes { write($0.baseAddress!, $0.count) }
        if let err {
            fail(.unreachable("token endpoint connection failed: \(err.message)"))
            return
        }
        startReading()
    }

    override func onWriteDone(_ error: UVError?) {
        if let error, error != .ecanceled, !finished {
            fail(.unreachable("token endpoint connection failed: \(error.message)"))
        }
    }

    override func onRead(_ data: UnsafeRawBufferPointer) {
        guard !finished else { return }
        response.append(contentsOf: data)
        if response.count > Self.maxResponseBytes {
            fail(.transient("token endpoint answer too large"))
            return
        }
        evaluate(eof: false)
    }

    override func onReadEnd(_ error: UVError) {
        guard !finished else { return }
        if error == .eof {
            evaluate(eof: true)
            if !finished { fail(.transient("token endpoint closed the connection before answering")) }
        } else if error == .eproto {
            fail(.transient("TLS with the token endpoint failed: \(tlsFailure ?? "unknown error")"))
        } else {
            fail(.unreachable("token endpoint connection failed: \(error.message)"))
        }
    }

    override func onTimer() {
        guard !finished else { return }
        fail(.transient("token endpoint timeout: no answer within \(Self.timeoutMs) ms"))
    }

    private func fail(_ f: TokenFetchFailure) {
        finish(.failure(f))
    }

    private func finish(_ outcome: Outcome) {
        guard !finished else { return }
        finished = true
        close()
        cache.fetchFinished(entry, outcome, startedAt: startedAt)
    }

    /// Re-parses everything received so far (answers are small): the answer is complete at the
    /// end of its message, or at EOF for a close-delimited body.
    private func evaluate(eof: Bool) {
        var result: (status: Int, body: [UInt8], retryAfter: String?)? = nil
        var malformed = false
        response.withUnsafeBytes { raw in
            parser.reset()
            parser.recordBody = true
            parser.clearBodySpans()
            var offset = 0
            var complete = false
            loop: while true {
                switch parser.execute(raw.baseAddress! + offset, raw.count - offset) {
                case .needMore:
                    if eof && parser.finish() { complete = true }
                    break loop
                case .headersComplete(let n):
                    offset += n
                    parser.resume()
                case .messageComplete:
                    complete = true
                    break loop
                case .error:
                    malformed = true
                    break loop
                }
            }
            guard complete else { return }
            var body: [UInt8] = []
            for s in parser.bodySpans { body.append(contentsOf: s.buffer) }
            var retryAfter: String? = nil
            for i in 0..<parser.headerCount where parser.headers[i].name.equalsLowercase("retry-after") {
                retryAfter = parser.headers[i].value.trimmed().makeString()
            }
            result = (parser.statusCode, body, retryAfter)
        }
        if malformed {
            fail(.transient("token endpoint sent an invalid HTTP answer"))
            return
        }
        guard let result else { return }
        if result.status == 0 {
            // EOF before a single byte of an answer: llhttp "completes" an empty stream.
            fail(.unreachable("token endpoint closed the connection without answering"))
            return
        }
        finish(classify(status: result.status, body: result.body, retryAfter: result.retryAfter))
    }

    private func classify(status: Int, body: [UInt8], retryAfter: String?) -> Outcome {
        if status >= 200 && status < 300 {
            switch TokenResponse.parse(body) {
            case .success(let r):
                return .success(r, lifetimeSeconds: lifetime(of: r), startedAt: startedAt)
            case .failure(let e):
                return .failure(.transient("token endpoint answered HTTP \(status) without a usable token: \(e)"))
            }
        }
        let oauth = OAuthErrorBody.parse(body)
        // Only the OAuth error code: the endpoint's free-text description is part of its body,
        // which is never logged or relayed (STYLE.md §9).
        let detail = oauth.map(\.code)
        if status == 429 || status == 503 {
            // Capped: one odd header must not lock a key out for days.
            let seconds = retryAfter.flatMap { RetryAfter.parse($0, now: Int(time(nil))) }.map { min($0, 3600) }
            let what = status == 429 ? "rate limited" : "unavailable"
            return .failure(.rateLimited("token endpoint answered HTTP \(status) (\(what))" + (detail.map { ": \($0)" } ?? ""), retryAfterSeconds: seconds))
        }
        if let code = oauth?.code, TokenFetchFailure.credentialErrors.contains(code) {
            return .failure(.refused("token endpoint refused the request: \(detail!) (HTTP \(status))"))
        }
        if status == 401 || status == 403 {
            return .failure(.refused("token endpoint rejected the client credentials (HTTP \(status))" + (detail.map { ": \($0)" } ?? "")))
        }
        if status >= 400 && status < 500 {
            return .failure(.refused("token endpoint answered HTTP \(status)" + (detail.map { ": \($0)" } ?? "")))
        }
        return .failure(.transient("token endpoint answered HTTP \(status)" + (detail.map { ": \($0)" } ?? "")))
    }

    /// `expires_in`, else the JWT's `exp`, else 300 s (DESIGN.md §5).
    private func lifetime(of r: TokenResponse) -> Int {
        if let s = r.expiresIn, s > 0 { return s }
        if let exp = JWTClaims.decode(r.accessToken.value)?.exp {
            let left = exp - Int(time(nil))
            if left > 0 { return left }
        }
        return 300
    }
}

/// Why a fetch failed, and how soon the next may be tried.
enum TokenFetchFailure {
    /// Connection refused, DNS, reset: the endpoint is down.
    case unreachable(String)
    /// 5xx, timeouts, a 200 without a usable token.
    case transient(String)
    /// 429/503, obeying Retry-After when given.
    case rateLimited(String, retryAfterSeconds: Int?)
    /// The endpoint refused the credential or request: retrying fast cannot help.
    case refused(String)

    static let credentialErrors: Set<String> = [
        "invalid_client", "invalid_target", "invalid_scope", "unauthorized_client", "invalid_grant",
        "unsupported_grant_type", "invalid_request",
    ]

    /// Label for metrics and `/tokens`.
    var outcome: String {
        switch self {
        case .unreachable: "unreachable"
        case .transient: "transient"
        case .rateLimited: "rate_limited"
        case .refused: "refused"
        }
    }

    var message: String {
        switch self {
        case .unreachable(let m), .transient(let m), .refused(let m), .rateLimited(let m, _): m
        }
    }

    /// Exponential backoff with full jitter (AWS's "full jitter": uniform in [0, cap_n] with
    /// cap_n = min(60 s, 1 s · 2^(n-1))), floored at 100 ms so that a string of failures cannot
    /// turn into a busy loop; Retry-After (429/503) is obeyed as given; refused credentials and
    /// requests (invalid_client, invalid_target, ...) are not retried faster than every 30 s.
    func retryDelayMs(failures: Int) -> UInt64 {
        switch self {
        case .refused:
            return 30_000
        case .rateLimited(_, let seconds?):
            return UInt64(max(seconds, 1)) * 1000
        case .unreachable, .transient, .rateLimited:
            let cap = UInt64(min(1000 << min(max(failures, 1) - 1, 6), 60_000))
            return max(100, UInt64.random(in: 0...cap))
        }
    }
}
