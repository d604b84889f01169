import Testing
@testable import M2MProxy

/// The proxy's phases over a `RequestContext`, without a socket: a head is parsed by the real
/// parser, then `requestFilter` runs with a plain environment (`PhaseTestEnvironment`).
@Suite struct ReverseProxyPhasesTests {
    static let config = """
        [server]
        listen = "127.0.0.1:1"
        [[route]]
        name = "api"
        path_prefix = "/api"
        upstream = "http://127.0.0.1:9"
        allow_cidrs = ["10.0.0.0/8"]
        [[route]]
        name = "rest"
        upstream = "http://127.0.0.1:9"
        """

    /// What `filter` found. Its spans point into the head's bytes and `ctx.routeRef` into
    /// `env`'s router: valid inside the `filter` closure only.
    struct Filtered {
        let outcome: PhaseOutcome
        let ctx: RequestContext
        let log: RequestLog
        let env: PhaseTestEnvironment
        var routeName: String? { ctx.route?.config.name }
    }

    /// Parses `text` as a request head, runs `requestFilter` over a fresh context and hands the
    /// result to `check` while the head's bytes and the routes are alive.
    static func filter(
        _ text: String, peer: String = "10.1.2.3", config: String = Self.config, _ check: (Filtered) -> Void
    ) {
        let env = PhaseTestEnvironment(config: config)
        let bytes = Array(text.utf8)
        let parser = HTTPParser(kind: .request)
        let kinds = UnsafeMutablePointer<HeaderKind>.allocate(capacity: 128)
        defer { kinds.deallocate() }
        let log = RequestLog()
        var ctx = RequestContext()
        bytes.withUnsafeBytes { b in
            guard case .headersComplete = parser.execute(b.baseAddress!, b.count) else {
                Issue.record("head did not parse: \(text)")
                return
            }
            ctx.http10 = parser.httpMinor == 0
            ctx.peer = IPAddress.parse(peer)!
            let head = RequestHead(parser: parser, kinds: kinds)
            let outcome = ReverseProxyPhases().requestFilter(&ctx, head, log, env)
            check(Filtered(outcome: outcome, ctx: ctx, log: log, env: env))
        }
    }

    @Test func routesByPathAndKeepsTheTarget() {
        Self.filter("GET /api/x?q=1 HTTP/1.1\r\nHost: shop:8080\r\n\r\n") { f1 in
            let outcome = f1.outcome
            let ctx = f1.ctx
            guard case .proceed = outcome else { Issue.record("refused: \(outcome)"); return }
            #expect(f1.routeName == "api")
            #expect(ctx.target.makeString() == "/api/x?q=1")
            #expect(ctx.authority.makeString() == "shop:8080")
            #expect(ctx.hostHeader.makeString() == "shop:8080")
            #expect(!ctx.hasBody && !ctx.isHEAD && !ctx.absoluteForm)
        }
    }

    @Test func absoluteFormTakesItsAuthority() {
        Self.filter("GET http://other:81?q HTTP/1.1\r\nHost: shop\r\n\r\n") { f2 in
            let outcome = f2.outcome
            let ctx = f2.ctx
            guard case .proceed = outcome else { Issue.record("refused: \(outcome)"); return }
            #expect(ctx.absoluteForm && ctx.absoluteQueryOnly)
            #expect(ctx.authority.makeString() == "other:81")
            #expect(ctx.target.makeString() == "?q")
            #expect(f2.routeName == "rest")
        }
    }

    @Test func classifiesWhatForwardingNeeds() {
        let head = "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n"
            + "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n"
        Self.filter(head) { f0 in
            let outcome = f0.outcome
            let ctx = f0.ctx
            guard case .proceed = outcome else { Issue.record("refused: \(outcome)"); return }
            #expect(ctx.hasBody && ctx.expectContinue && ctx.upgradeRequested)
            #expect(ctx.xffCount == 2)
            #expect(ctx.requestHeaderCount == 7)
            #expect(ctx.methodCode == 3) // llhttp HTTP_POST
        }
    }

    @Test func keepsOneSaneRequestIDAndReplacesOthers() {
        Self.filter("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: abc-1\r\n\r\n") { f3 in
            let kept = f3.log
            #expect(kept.requestID.makeString() == "abc-1")
            #expect(!kept.replacesClientID)
            Self.filter("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: a\r\nX-Request-Id: b\r\n\r\n") { f4 in
                let replaced = f4.log
                #expect(replaced.replacesClientID)
                #expect(replaced.requestID.count == RequestLog.generatedIDLength)
            }
        }
    }

    @Test(arguments: [
        ("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 405),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET /api/../admin HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        ("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n", 413),
    ])
    func refusesBeforeAnyUpstream(head: String, status: Int) {
        Self.filter(head) { f5 in
            let outcome = f5.outcome
            let ctx = f5.ctx
            guard case .respond(let error) = outcome else { Issue.record("accepted: \(head)"); return }
            #expect(error.status == status)
            if status == 400 || status == 405 { #expect(ctx.routeRef == nil) }
        }
    }

    @Test func accessControlUsesThePeer() {
        Self.filter("GET /api HTTP/1.1\r\nHost: a\r\n\r\n", peer: "10.9.9.9") { f6 in
            let inside = f6.outcome
            guard case .proceed = inside else { Issue.record("refused: \(inside)"); return }
            Self.filter("GET /api HTTP/1.1\r\nHost: a\r\n\r\n", peer: "192.0.2.1") { f7 in
                let outside = f7.outcome
                guard case .respond(let error) = outside else { Issue.record("accepted from outside"); return }
                #expect(error == .forbidden)
                // The route matched (the 403 is counted under it).
                #expect(f7.routeName == "api")
            }
        }
    }

    @Test func noRouteIs404() {
        let config = "[server]\nlisten = \"127.0.0.1:1\"\n[[route]]\nname = \"only\"\npath_prefix = \"/only\"\nupstream = \"http://127.0.0.1:9\"\n"
        Self.filter("GET /else HTTP/1.1\r\nHost: a\r\n\r\n", config: config) { f8 in
            let outcome = f8.outcome
            guard case .respond(let error) = outcome else { Issue.record("accepted"); return }
            #expect(error == .noRoute)
        }
    }

    @Test func underscoreHeadersFollowThePolicy() {
        let head = "GET / HTTP/1.1\r\nHost: a\r\nX_Custom: 1\r\n\r\n"
        let reject = Self.config.replacingFirst("[server]\n", with: "[server]\nheaders_with_underscores = \"reject\"\n")
        Self.filter(head, config: reject) { f9 in
            let refused = f9.outcome
            guard case .respond(let error) = refused else { Issue.record("accepted"); return }
            #expect(error.status == 400)
            Self.filter(head) { f10 in
                let kept = f10.outcome
                guard case .proceed = kept else { Issue.record("refused: \(kept)"); return }
            }
        }
    }
}

private extension String {
    func replacingFirst(_ what: String, with: String) -> String {
        guard let r = range(of: what) else { return self }
        return replacingCharacters(in: r, with: with)
    }
}

/// The loop as the phases see it, without a loop: a parsed config and its router.
final class PhaseTestEnvironment: ProxyEnvironment {
    let limits: LimitsConfig
    let config: ProxyConfig
    let router: Router
    let requestIDs = RequestIDGenerator(prefix: 7)
    let slashBytes = StaticBytes("/")
    var isDraining = false
    var now: UInt64 = 1000

    init(config text: String) {
        let config = ConfigLoader.parse(text: text, environment: [:]).config!
        self.config = config
        limits = config.limits
        router = Router(routes: config.routes.enumerated().map { i, r in
            CompiledRoute(index: i, config: r, upstreamSlot: 0, tokenSlot: nil)
        })
    }

    var routerRef: Unmanaged<Router>? { Unmanaged.passUnretained(router) }
    var hasAccessControl: Bool { config.routes.contains { $0.allowCIDRs != nil } || config.server.allowCIDRs != nil }
    func upstreamCluster(_ slot: Int) -> Unmanaged<UpstreamCluster> { fatalError("no upstreams in phase tests") }
    var slash: ByteSpan { slashBytes.span }
}
