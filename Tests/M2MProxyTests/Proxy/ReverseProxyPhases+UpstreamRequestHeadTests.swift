import CLibUV
import Testing
@testable import M2MProxy

/// The upstream request head phase without a socket: a client head is parsed by the real parser
/// and filtered (`requestFilter`), then `upstreamRequestFilter` builds the upstream head and its
/// iovecs are joined into the exact bytes the upstream would get.
@Suite struct UpstreamRequestHeadTests {
    /// The session's lines as plain values.
    struct PlainHeadLines: UpstreamHeadLines {
        let headersEnd: UnsafeRawPointer
        let basePath, requestLineEndAndHost, xffLine, xffSuffix: ByteSpan
        let tokenLine: ByteSpan?
        let preserveHost, upstreamKeepAlive, overTLS: Bool
    }

    /// How the session would forward the request.
    struct Forwarding {
        var token: String? = nil
        var basePath = ""
        var preserveHost = false
        var upstreamKeepAlive = true
        var overTLS = false
        var peer = "10.1.2.3"
    }

    /// The upstream head for the client head `text` (every test request carries an `X-Request-Id`
    /// the proxy keeps, unless it says otherwise), with the request log for its generated ID.
    static func forward(_ text: String, _ f: Forwarding = Forwarding()) -> (head: String, log: RequestLog) {
        let env = PhaseTestEnvironment(config: ReverseProxyPhasesTests.config)
        let parser = HTTPParser(kind: .request)
        let kinds = UnsafeMutablePointer<HeaderKind>.allocate(capacity: 128)
        defer { kinds.deallocate() }
        let log = RequestLog()
        let statics = StaticLines()
        let basePath = StaticBytes(f.basePath)
        let hostLine = StaticBytes(" HTTP/1.1\r\nHost: up.internal:9\r\n")
        let xffLine = StaticBytes("X-Forwarded-For: \(f.peer)\r\n")
        let xffSuffix = StaticBytes(", \(f.peer)\r\n")
        let tokenLine = f.token.map { StaticBytes("Authorization: Bearer \($0)\r\n") }
        var ctx = RequestContext()
        var out = ""
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { b in
            guard case .headersComplete(let n) = parser.execute(b.baseAddress!, b.count) else {
                Issue.record("head did not parse: \(text)")
                return
            }
            ctx.http10 = parser.httpMinor == 0
            ctx.peer = IPAddress.parse(f.peer)!
            let head = RequestHead(parser: parser, kinds: kinds)
            guard case .proceed = ReverseProxyPhases().requestFilter(&ctx, head, log, env) else {
                Issue.record("refused: \(text)")
                return
            }
            let lines = PlainHeadLines(
                headersEnd: b.baseAddress! + n - 2, basePath: basePath.span, requestLineEndAndHost: hostLine.span,
                xffLine: xffLine.span, xffSuffix: xffSuffix.span, tokenLine: tokenLine?.span,
                preserveHost: f.preserveHost, upstreamKeepAlive: f.upstreamKeepAlive, overTLS: f.overTLS)
            let capacity = ReverseProxyPhases.upstreamHeadPieces(headerCount: ctx.requestHeaderCount, xffCount: ctx.xffCount)
            let before = ctx
            out = withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: capacity) { storage in
                var iov = IOVecList(storage: storage)
                ReverseProxyPhases().upstreamRequestFilter(&ctx, head, lines, log, statics, into: &iov)
                // Room for one more piece: the session's body bytes.
                #expect(iov.count < capacity)
                return Self.joined(iov)
            }
            // The session builds it in flat mode (copied as it goes): the same bytes.
            IOVecTests.expectFlatMatches(out, capacity: capacity) { iov in
                var c = before
                ReverseProxyPhases().upstreamRequestFilter(&c, head, lines, log, statics, into: &iov)
            }
        }
        withExtendedLifetime((basePath, hostLine, xffLine, xffSuffix, tokenLine)) {}
        return (out, log)
    }

    static func joined(_ iov: IOVecList) -> String {
        var bytes = [UInt8](repeating: 0, count: iov.totalBytes)
        let n = bytes.withUnsafeMutableBytes { iov.gather(into: $0.baseAddress!) }
        #expect(n == iov.totalBytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The lines the proxy adds after the client's, for a plain HTTP client at 10.1.2.3.
    static func tail(host: String = "shop", proto: String = "http") -> String {
        "X-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Host: \(host)\r\nX-Forwarded-Proto: \(proto)\r\nVia: 1.1 m2m-proxy\r\n\r\n"
    }

    @Test func forwardsTheClientsHeadWithTheForwardingLines() {
        let (head, _) = Self.forward("GET /api/x?q=1 HTTP/1.1\r\nHost: shop\r\nAccept: */*\r\nX-Request-Id: r1\r\n\r\n")
        #expect(head == "GET /api/x?q=1 HTTP/1.1\r\nHost: up.internal:9\r\nAccept: */*\r\nX-Request-Id: r1\r\n" + Self.tail())
    }

    @Test func dropsHopByHopHeadersAndWhatConnectionNames() {
        let (head, _) = Self.forward(
            "GET / HTTP/1.1\r\nHost: shop\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\n"
                + "X-Secret: 1\r\nTE: trailers\r\nTrailer: X-T\r\nProxy-Authorization: Basic eA==\r\nProxy-Connection: close\r\n"
                + "Upgrade: h2c\r\nX-Kept: 2\r\nX-Request-Id: r1\r\n\r\n")
        // Upgrade without `Connection: upgrade` is hop-by-hop like the rest.
        #expect(head == "GET / HTTP/1.1\r\nHost: up.internal:9\r\nX-Kept: 2\r\nX-Request-Id: r1\r\n" + Self.tail())
    }

    /// Kept lines go as runs: alternating kept and dropped lines, a dropped first and last
    /// line, and a kept last line each keep exactly the kept lines, in order.
    @Test func keepsRunsOfLinesBetweenDroppedOnes() {
        let (alternating, _) = Self.forward(
            "GET / HTTP/1.1\r\nTE: trailers\r\nA: 1\r\nHost: shop\r\nB: 2\r\nC: 3\r\nKeep-Alive: 5\r\nD: 4\r\n"
                + "X-Request-Id: r1\r\nProxy-Connection: close\r\n\r\n")
        #expect(alternating == "GET / HTTP/1.1\r\nHost: up.internal:9\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nX-Request-Id: r1\r\n" + Self.tail())
        let (lastKept, _) = Self.forward("GET / HTTP/1.1\r\nHost: shop\r\nKeep-Alive: 5\r\nX-Request-Id: r1\r\nE: 5\r\n\r\n")
        #expect(lastKept == "GET / HTTP/1.1\r\nHost: up.internal:9\r\nX-Request-Id: r1\r\nE: 5\r\n" + Self.tail())
        let (allDropped, _) = Self.forward("GET / HTTP/1.1\r\nHost: shop\r\nTE: trailers\r\n\r\n")
        #expect(allDropped.hasPrefix("GET / HTTP/1.1\r\nHost: up.internal:9\r\nX-Forwarded-For: 10.1.2.3\r\n"))
    }

    @Test func replacesAuthorizationOnTokenRoutes() {
        let text = "GET / HTTP/1.1\r\nHost: shop\r\nAuthorization: Basic dTpw\r\nX-Request-Id: r1\r\n\r\n"
        let (injected, _) = Self.forward(text, Forwarding(token: "tok"))
        #expect(injected == "GET / HTTP/1.1\r\nHost: up.internal:9\r\nX-Request-Id: r1\r\nAuthorization: Bearer tok\r\n" + Self.tail())
        let (kept, _) = Self.forward(text)
        #expect(kept == "GET / HTTP/1.1\r\nHost: up.internal:9\r\nAuthorization: Basic dTpw\r\nX-Request-Id: r1\r\n" + Self.tail())
    }

    @Test func appendsTheClientToItsForwardedForList() {
        let (head, _) = Self.forward(
            "GET / HTTP/1.1\r\nHost: shop\r\nX-Forwarded-For: 1.1.1.1,2.2.2.2 \r\nX-Request-Id: r1\r\nX-Forwarded-For:  3.3.3.3\r\n"
                + "X-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\n\r\n")
        #expect(head == "GET / HTTP/1.1\r\nHost: up.internal:9\r\nX-Request-Id: r1\r\n"
            + "X-Forwarded-For: 1.1.1.1,2.2.2.2, 3.3.3.3, 10.1.2.3\r\n"
            + "X-Forwarded-Host: shop\r\nX-Forwarded-Proto: http\r\nVia: 1.1 m2m-proxy\r\n\r\n")
    }

    @Test func forwardedHostAndProto() {
        // The Host header as sent (port included); https for a TLS client.
        let (tls, _) = Self.forward("GET / HTTP/1.1\r\nHost: shop:8443\r\nX-Request-Id: r1\r\n\r\n", Forwarding(overTLS: true))
        #expect(tls.hasSuffix(Self.tail(host: "shop:8443", proto: "https")))
        // RFC 9112 §3.2.2: an absolute-form target's authority wins over Host.
        let (absolute, _) = Self.forward("GET http://other:81/p HTTP/1.1\r\nHost: shop\r\nX-Request-Id: r1\r\n\r\n")
        #expect(absolute == "GET /p HTTP/1.1\r\nHost: up.internal:9\r\nX-Request-Id: r1\r\n" + Self.tail(host: "other:81"))
        // "http://h?q" is sent as "/?q".
        let (query, _) = Self.forward("GET http://other?q HTTP/1.1\r\nHost: shop\r\nX-Request-Id: r1\r\n\r\n")
        #expect(query.hasPrefix("GET /?q HTTP/1.1\r\n"))
    }

    /// The client's `method SP target` goes as one piece when it is the whole start of the
    /// upstream request line; the version is always the proxy's, and a base path or an
    /// absolute-form target still rebuilds the line.
    @Test func requestLineFromTheClientsMethodAndTarget() {
        let (http10, _) = Self.forward("DELETE /a/b?c=%20 HTTP/1.0\r\nHost: shop\r\nX-Request-Id: r1\r\n\r\n")
        #expect(http10.hasPrefix("DELETE /a/b?c=%20 HTTP/1.1\r\nHost: up.internal:9\r\nX-Request-Id: r1\r\n"))
        let (based, _) = Self.forward("PATCH /x HTTP/1.1\r\nHost: shop\r\nX-Request-Id: r1\r\n\r\n", Forwarding(basePath: "/v1"))
        #expect(based.hasPrefix("PATCH /v1/x HTTP/1.1\r\nHost: up.internal:9\r\n"))
        let (absolute, _) = Self.forward("OPTIONS http://shop/y HTTP/1.1\r\nHost: shop\r\nX-Request-Id: r1\r\n\r\n", Forwarding(basePath: "/v1"))
        #expect(absolute.hasPrefix("OPTIONS /v1/y HTTP/1.1\r\nHost: up.internal:9\r\n"))
        let (preserved, _) = Self.forward("GET /z HTTP/1.1\r\nHost: shop:1\r\nX-Request-Id: r1\r\n\r\n", Forwarding(preserveHost: true))
        #expect(preserved.hasPrefix("GET /z HTTP/1.1\r\nHost: shop:1\r\nX-Request-Id: r1\r\n"))
    }

    @Test func basePathAndPreserveHost() {
        let text = "GET /api/x HTTP/1.1\r\nHost: shop:8080\r\nX-Request-Id: r1\r\n\r\n"
        let (head, _) = Self.forward(text, Forwarding(basePath: "/v2", preserveHost: true))
        #expect(head == "GET /v2/api/x HTTP/1.1\r\nHost: shop:8080\r\nX-Request-Id: r1\r\n" + Self.tail(host: "shop:8080"))
    }

    @Test func replacesAnInsaneOrRepeatedRequestID() {
        let (head, log) = Self.forward("GET / HTTP/1.1\r\nHost: shop\r\nX-Request-Id: a\r\nX-Request-Id: b\r\n\r\n")
        let id = log.requestID.makeString()
        #expect(id.count == RequestLog.generatedIDLength)
        #expect(head == "GET / HTTP/1.1\r\nHost: up.internal:9\r\n"
            + "X-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Host: shop\r\nX-Request-Id: \(id)\r\n"
            + "X-Forwarded-Proto: http\r\nVia: 1.1 m2m-proxy\r\n\r\n")
        // None sent: one is generated and forwarded.
        let (generated, log2) = Self.forward("GET / HTTP/1.1\r\nHost: shop\r\n\r\n")
        #expect(generated.contains("\r\nX-Request-Id: \(log2.requestID.makeString())\r\n"))
    }

    @Test func asksForCloseWhenUpstreamConnectionsAreNotKept() {
        let (head, _) = Self.forward("GET / HTTP/1.1\r\nHost: shop\r\nX-Request-Id: r1\r\n\r\n", Forwarding(upstreamKeepAlive: false))
        #expect(head == "GET / HTTP/1.1\r\nHost: up.internal:9\r\nX-Request-Id: r1\r\nConnection: close\r\n" + Self.tail())
    }

    @Test func passesAnUpgradeThrough() {
        let (head, _) = Self.forward(
            "GET /ws HTTP/1.1\r\nHost: shop\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nX-Request-Id: r1\r\n\r\n",
            Forwarding(upstreamKeepAlive: false))
        // `Connection: upgrade` (not close) even without upstream keep-alive.
        #expect(head == "GET /ws HTTP/1.1\r\nHost: up.internal:9\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nX-Request-Id: r1\r\n"
            + "Connection: upgrade\r\n" + Self.tail())
    }

    @Test func dropsExpectAndUnderscoredFramingNames() {
        let (head, _) = Self.forward(
            "POST / HTTP/1.1\r\nHost: shop\r\nContent-Length: 2\r\nExpect: 100-continue\r\nContent_Length: 9\r\nX-Request-Id: r1\r\n\r\n")
        #expect(head == "POST / HTTP/1.1\r\nHost: up.internal:9\r\nContent-Length: 2\r\nX-Request-Id: r1\r\n" + Self.tail())
    }
}
