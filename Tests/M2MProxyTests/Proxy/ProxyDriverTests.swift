import Testing
@testable import M2MProxy

/// The driver's order of phases and session calls, with a recording session (no socket).
@Suite struct ProxyDriverTests {
    /// Records what the driver asks of it.
    final class RecordingSession: ProxySession {
        var request = RequestContext()
        let requestLog = RequestLog()
        var calls: [String] = []
        func holdRequestBody() { calls.append("hold") }
        func respond(_ error: ProxyError) { calls.append("respond \(error.status)") }
        func awaitToken(slot: Int) { calls.append("token \(slot)") }
        func connectUpstream(avoid: UpstreamPool?) { calls.append("upstream") }
        func logRequest() { calls.append("log") }
    }

    /// Phases that answer from fixed values, counting `logging`.
    final class Counter { var logged = 0 }
    struct FixedPhases: ProxyPhases {
        let route: CompiledRoute?
        let refuse: ProxyError?
        let counter: Counter
        func requestFilter<E: ProxyEnvironment>(
            _ ctx: inout RequestContext, _ head: RequestHead, _ log: RequestLog, _ env: E
        ) -> PhaseOutcome {
            ctx.hasBody = true
            if let route { ctx.routeRef = Unmanaged.passUnretained(route) }
            if let refuse { return .respond(refuse) }
            return .proceed
        }
        func logging(_ ctx: RequestContext, _ log: RequestLog) { counter.logged += 1 }
    }

    static func route(tokenSlot: Int?) -> CompiledRoute {
        let up = EndpointURL(scheme: .http, host: "127.0.0.1", port: 9, path: "", authority: "127.0.0.1:9")
        let cfg = RouteConfig(
            name: "r", host: .any, pathPrefix: "/", methods: nil, upstream: up, credentialIndex: nil,
            resource: nil, scopes: [], organizationID: nil, preserveHost: false, tlsCAFile: nil)
        return CompiledRoute(index: 0, config: cfg, upstreamSlot: 0, tokenSlot: tokenSlot)
    }

    static func run(_ phases: FixedPhases) -> RecordingSession {
        let s = RecordingSession()
        let parser = HTTPParser(kind: .request)
        let kinds = UnsafeMutablePointer<HeaderKind>.allocate(capacity: 1)
        defer { kinds.deallocate() }
        let env = PhaseTestEnvironment(config: "[[route]]\nupstream = \"http://127.0.0.1:9\"\n")
        s.request.requestActive = true
        ProxyDriver(phases: phases).requestHeadComplete(
            s, RequestHead(parser: parser, kinds: kinds), env)
        return s
    }

    @Test func tokenRouteAcquiresItsTokenBeforeTheUpstream() {
        let route = Self.route(tokenSlot: 4)
        let s = Self.run(FixedPhases(route: route, refuse: nil, counter: Counter()))
        #expect(s.calls == ["hold", "token 4"])
        ProxyDriver(phases: FixedPhases(route: route, refuse: nil, counter: Counter())).tokenAcquired(s)
        #expect(s.calls == ["hold", "token 4", "upstream"])
    }

    @Test func routeWithoutCredentialGoesStraightUpstream() {
        let route = Self.route(tokenSlot: nil)
        #expect(Self.run(FixedPhases(route: route, refuse: nil, counter: Counter())).calls == ["hold", "upstream"])
    }

    /// The body is held before the answer, so a refused request's body is not read as the next
    /// request while the answer goes out.
    @Test func refusalIsAnsweredWithoutUpstream() {
        let s = Self.run(FixedPhases(route: nil, refuse: .noRoute, counter: Counter()))
        #expect(s.calls == ["hold", "respond 404"])
    }

    @Test func loggingRunsExactlyOnce() {
        let counter = Counter()
        let driver = ProxyDriver(phases: FixedPhases(route: nil, refuse: nil, counter: counter))
        let s = RecordingSession()
        #expect(!driver.requestEnded(s))
        s.request.requestActive = true
        #expect(driver.requestEnded(s))
        #expect(!driver.requestEnded(s))
        #expect(counter.logged == 1)
        #expect(s.calls == ["log"])
    }
}
