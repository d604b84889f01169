/// The admin endpoints (DESIGN.md §6), answered from the loops' state. Not on the data path:
/// answers are built as strings.
///
/// - `GET /healthz`: 200 while the process serves.
/// - `GET /readyz`: 200 once the listeners are bound and every `prefetch = true` key holds a
///   token, else 503 with the reason and the keys still waiting.
/// - `GET /metrics`: Prometheus text.
/// - `GET /tokens`: the cache keys, their expiry and last outcome; never a token.
/// - `GET /upstreams`: every route's endpoints, their health, connections and counters.
/// - `POST /tokens/refresh[?route=NAME]`: forces a fetch of every key (or the route's) and
///   answers once it has finished: 200 with the outcome, or 503 with the failure.
final class AdminHandler {
    /// The control role (on worker 0's loop, where admin connections are served): the token
    /// cache, and the worker loops whose counters a scrape collects.
    unowned(unsafe) let control: ControlLoop

    init(control: ControlLoop) { self.control = control }

    private var worker: Worker { control.worker }

    func handle(method: String, target: String, reply: @escaping (AdminResponse) -> Void) {
        let (path, query) = Self.split(target)
        switch path {
        case "/healthz":
            guard method == "GET" || method == "HEAD" else { return reply(Self.notAllowed("GET")) }
            reply(.json(200, .object(["status": .string("ok")])))
        case "/readyz":
            guard method == "GET" || method == "HEAD" else { return reply(Self.notAllowed("GET")) }
            reply(readiness())
        case "/metrics":
            guard method == "GET" || method == "HEAD" else { return reply(Self.notAllowed("GET")) }
            control.scrape { [unowned self] parts in
                reply(AdminResponse(status: 200, contentType: PrometheusText.contentType, body: PrometheusText.render(metricsSnapshot(parts))))
            }
        case "/tokens":
            guard method == "GET" || method == "HEAD" else { return reply(Self.notAllowed("GET")) }
            reply(.json(200, .array(control.tokenCache.snapshot().map(Self.tokenJSON))))
        case "/upstreams":
            guard method == "GET" || method == "HEAD" else { return reply(Self.notAllowed("GET")) }
            control.scrape { [unowned self] parts in
                let endpoints = UpstreamsReport.merge(parts.map(\.endpoints))
                reply(.json(200, UpstreamsReport.json(endpoints, routes: worker.config.routes, nowUnixMs: UpstreamsReport.nowUnixMs())))
            }
        case "/tokens/refresh":
            guard method == "POST" else { return reply(Self.notAllowed("POST")) }
            refresh(route: Self.queryValue(query, "route"), reply: reply)
        default:
            reply(.error(404, "not_found", "admin endpoints: /healthz /readyz /metrics /tokens /tokens/refresh /upstreams"))
        }
    }

    // MARK: endpoints

    func readiness() -> AdminResponse {
        if !worker.listenersUp {
            return .json(503, .object(["status": .string("not_ready"), "reason": .string("listeners are not bound yet")]))
        }
        if control.draining {
            return .json(503, .object(["status": .string("not_ready"), "reason": .string("draining")]))
        }
        let cache = control.tokenCache
        if cache.prefetchReady { return .json(200, .object(["status": .string("ready")])) }
        let waiting = cache.snapshot().filter { $0.prefetch && ($0.secondsLeft ?? 0) == 0 }
        return .json(503, .object([
            "status": .string("not_ready"),
            "reason": .string("waiting for prefetch tokens"),
            "waiting": .array(waiting.map { t in
                .object([
                    "credential": .string(t.credential),
                    "resource": t.resource.map { .string($0) } ?? .null,
                    "scopes": .array(t.scopes.map { .string($0) }),
                    "organization_id": t.organizationID.map { .string($0) } ?? .null,
                    "fetching": .bool(t.fetching),
                    "last_error": t.lastError.map { .string($0) } ?? .null,
                ])
            }),
        ]))
    }

    /// Sums the workers' counters (one part per running worker loop).
    func metricsSnapshot(_ parts: [WorkerMetrics]) -> MetricsSnapshot {
        var s = MetricsSnapshot(
            metrics: parts.map(\.requests), tokens: control.tokenCache.snapshot(),
            tokenCacheWaits: parts.reduce(0) { $0 + $1.tokenWaits },
            openConnections: parts.reduce(0) { $0 + $1.openConnections },
            activeRequests: parts.reduce(0) { $0 + $1.activeRequests })
        s.bufferPoolBytes = parts.reduce(0) { $0 + $1.bufferPoolBytes }
        s.tokenStore = control.tokenCache.store.stats ?? TokenStoreStats()
        s.workerRequests = Array(repeating: 0, count: control.workerCount)
        for p in parts where p.worker < s.workerRequests.count { s.workerRequests[p.worker] = p.requests.total }
        for p in parts {
            for h in p.tlsHandshakes { s.addTLSHandshakes(h) }
        }
        s.endpoints = UpstreamsReport.merge(parts.map(\.endpoints))
        return s
    }

    private func refresh(route: String?, reply: @escaping (AdminResponse) -> Void) {
        if let route, !worker.config.routes.contains(where: { $0.name == route }) {
            return reply(.error(404, "unknown_route", "no route named \(route)"))
        }
        let started = control.tokenCache.forceRefresh(routeName: route) { failure in
            if let failure {
                reply(.json(503, .object(["status": .string("failed"), "message": .string(failure)])))
            } else {
                reply(.json(200, .object(["status": .string("ok"), "outcome": .string("ok")])))
            }
        }
        if !started {
            reply(.error(404, "no_token_key", route.map { "route \($0) uses no credential" } ?? "no route uses a credential"))
        }
    }

    // MARK: helpers

    static func tokenJSON(_ t: TokenSnapshot) -> JSONValue {
        func number(_ v: Int?) -> JSONValue { v.map { .number(Double($0)) } ?? .null }
        func string(_ v: String?) -> JSONValue { v.map { .string($0) } ?? .null }
        return .object([
            "credential": .string(t.credential),
            "resource": string(t.resource),
            "scopes": .array(t.scopes.map { .string($0) }),
            "organization_id": string(t.organizationID),
            "routes": .array(t.routes.map { .string($0) }),
            "prefetch": .bool(t.prefetch),
            "seconds_left": number(t.secondsLeft),
            "expires_in": number(t.expiresInSeconds),
            "fetching": .bool(t.fetching),
            "last_outcome": string(t.lastOutcome),
            "last_error": string(t.lastError),
        ])
    }

    private static func notAllowed(_ allow: String) -> AdminResponse {
        var r = AdminResponse.error(405, "method_not_allowed", "use \(allow)")
        r.allow = allow
        return r
    }

    /// Path and query of an origin-form target (an absolute-form one keeps only its path).
    static func split(_ target: String) -> (path: String, query: String) {
        var t = Substring(target)
        if let scheme = t.firstRange(of: "://") {
            t = t[scheme.upperBound...]
            t = t.firstIndex(where: { $0 == "/" || $0 == "?" }).map { t[$0...] } ?? "/"
        }
        guard let q = t.firstIndex(of: "?") else { return (String(t), "") }
        return (String(t[..<q]), String(t[t.index(after: q)...]))
    }

    /// The first value of `name` in a form-encoded query, percent-decoded (`+` is a space).
    static func queryValue(_ query: String, _ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if percentDecode(parts[0]) == name {
                return parts.count > 1 ? percentDecode(parts[1]) : ""
            }
        }
        return nil
    }

    static func percentDecode(_ s: Substring) -> String {
        var out: [UInt8] = []
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(b == UInt8(ascii: "+") ? 0x20 : b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

@available(*, unavailable)
extension AdminHandler: Sendable {}
