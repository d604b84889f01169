import Foundation
import Glibc
import Testing

/// `server.workers = 2`: two loops on their own threads, each with its own SO_REUSEPORT
/// listener, sharing one token cache on the control loop (DESIGN.md §1, §5).
///
/// The kernel spreads connections over the two listeners by a hash of the 4-tuple, so every
/// test opens many connections: the chance that 20 all land on one loop is 2^-19.
/// `m2m_worker_requests_total{worker}` shows where requests were served.
@Suite struct WorkersTests {
    private static func bed(tokenMode: TokenMode? = nil, label: String) throws -> (ProxyTestBed, AdminClient) {
        var adminPort: UInt16 = 0
        let bed = try ProxyTestBed(tokenMode: tokenMode, label: label) { c, up, tok in
            adminPort = try c.enableAdmin()
            c.server["workers"] = "2"
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(name: "main", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        return (bed, try AdminClient(port: adminPort))
    }

    /// Requests per worker loop, from the admin endpoint.
    private static func perWorker(_ admin: AdminClient) throws -> [Double] {
        let m = try admin.metrics()
        return [m[#"m2m_worker_requests_total{worker="0"}"#] ?? -1, m[#"m2m_worker_requests_total{worker="1"}"#] ?? -1]
    }

    /// 40 keep-alive connections × 5 requests: all succeed, both loops serve some, the metrics
    /// count every request exactly once, one token serves all, and the access log has one
    /// whole JSON line per request (the loops' flushes never interleave).
    @Test func requestsSpreadAcrossLoopsAreCountedAndLoggedOnce() throws {
        let (bed, admin) = try Self.bed(label: "workers-spread")
        let connections = try (0..<40).map { _ in try bed.connect() }
        for round in 0..<5 {
            for (i, c) in connections.enumerated() {
                try c.send("GET /w/\(i)/\(round) HTTP/1.1\r\nHost: client.test\r\n\r\n")
            }
            for c in connections {
                let r = try c.readResponse()
                #expect(r.status == 200, "\(r.summary)")
            }
        }
        let perWorker = try Self.perWorker(admin)
        #expect(perWorker[0] > 0 && perWorker[1] > 0, "requests per worker: \(perWorker)")
        #expect(perWorker[0] + perWorker[1] == 200, "requests per worker: \(perWorker)")
        let m = try admin.metrics()
        #expect(m[#"m2m_requests_total{route="main",code="200",protocol="http/1.1"}"#] == 200)
        #expect(m[#"m2m_request_duration_seconds_count{route="main"}"#] == 200)
        #expect(try bed.tokens.tokenRequestCount() == 1)

        let lines = try bed.proxy.waitForAccessLog(count: 200)
        #expect(lines.count == 200)
        #expect(Set(lines.compactMap { $0["request_id"] as? String }).count == 200)
        // Every stdout line is a whole JSON object: no line was cut or merged with another.
        let stdoutLines = bed.proxy.process.stdout.split(separator: "\n")
        #expect(stdoutLines.count == 200)
        #expect(stdoutLines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any] })
    }

    /// 100 concurrent cold requests over 100 connections, spread over both loops, while the
    /// token endpoint takes 500 ms: exactly one token request (single flight across threads),
    /// and every parked request is woken on its own loop with that token.
    @Test func singleFlightAcrossWorkers() throws {
        let (bed, admin) = try Self.bed(tokenMode: TokenMode(delayMs: 500), label: "workers-sf")
        let connections = try (0..<100).map { _ in try bed.connect() }
        for (i, c) in connections.enumerated() {
            try c.send("GET /sf/\(i) HTTP/1.1\r\nHost: client.test\r\n\r\n")
        }
        for c in connections {
            let r = try c.readResponse()
            #expect(r.status == 200, "\(r.summary)")
        }
        #expect(try bed.tokens.tokenRequestCount() == 1)
        let issued = try bed.tokens.issuedTokens()
        #expect(Set(try bed.upstream.requests().flatMap { $0.headerValues("Authorization") }) == Set(issued.map { "Bearer \($0)" }))
        let perWorker = try Self.perWorker(admin)
        #expect(perWorker[0] > 0 && perWorker[1] > 0, "requests per worker: \(perWorker)")
        let m = try admin.metrics()
        #expect(m["m2m_token_cache_waits_total"] == 100)
    }

    /// SIGHUP reaches every loop: once "configuration reloaded" is logged, no connection on
    /// either loop is served by the old routes.
    @Test func reloadReachesEveryWorker() throws {
        let (bed, admin) = try Self.bed(label: "workers-reload")
        #expect(try bed.get("/new/x").status == 200)
        var c = bed.config
        c.routes = [
            .init(name: "only-api", pathPrefix: "/api", upstream: bed.upstream.url, credential: "idp",
                  resource: "https://api.test", scopes: ["read"]),
        ]
        try c.toml.write(toFile: bed.proxy.configPath, atomically: true, encoding: .utf8)
        bed.proxy.process.signal(SIGHUP)
        try Wait.until("the reload in the proxy's log", timeout: 10) { bed.proxy.output.contains("configuration reloaded") }
        for i in 0..<20 {
            #expect(try bed.get("/new/\(i)").status == 404)
            #expect(try bed.get("/api/\(i)").status == 200)
        }
        let m = try admin.metrics()
        #expect(m[#"m2m_requests_total{route="only-api",code="200",protocol="http/1.1"}"#] == 20)
        #expect(m[#"m2m_requests_total{route="none",code="404",protocol="http/1.1"}"#] == 20)
        let perWorker = try Self.perWorker(admin)
        #expect(perWorker[0] > 0 && perWorker[1] > 0, "requests per worker: \(perWorker)")
        // The token of the unchanged key was kept.
        #expect(try bed.tokens.tokenRequestCount() == 1)
    }

    /// SIGTERM with slow requests in flight on both loops: every loop stops accepting, every
    /// response still arrives whole, then the process exits 0.
    @Test func sigtermDrainsEveryWorker() throws {
        let (bed, admin) = try Self.bed(label: "workers-drain")
        #expect(try bed.get("/warm").status == 200)
        let connections = try (0..<20).map { _ in try bed.connect() }
        for c in connections {
            try c.send("GET /slow?ms=1500 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        }
        try Wait.until("the upstream to receive 20 /slow requests", timeout: 5) {
            try bed.upstream.requests().filter { $0.path == "/slow" }.count == 20
        }
        let active = try admin.metrics()["m2m_active_requests"]
        #expect(active == 20)
        bed.proxy.process.signal(SIGTERM)
        try Wait.until("the proxy to stop accepting connections", timeout: 2) { !Wait.canConnect(port: bed.proxy.port) }
        #expect(bed.proxy.process.isRunning, "the proxy exited with requests in flight")
        for c in connections {
            let r = try c.readResponse(timeout: 5)
            #expect(r.status == 200, "\(r.summary)")
        }
        let status = bed.proxy.process.waitForExit(timeout: 5)
        #expect(status == 0, "exit status \(status.map(String.init) ?? "none (still running)"); stderr: \(bed.proxy.process.stderr.suffix(1000))")
        // Both loops flushed their access logs at exit: one line per request.
        #expect(bed.proxy.accessLog.count == 21)
    }

    /// Token deadlines and "used since its last fetch" across threads: ttl 4 s (refresh point
    /// 2 s, last send 3 s), a fresh connection every 100 ms for 7 s spread over both loops.
    /// Every request succeeds, the upstream (which checks `exp`) never sees an expired token,
    /// and uses recorded on either loop keep the key refreshed ahead of expiry.
    @Test func usedKeyIsRefreshedAcrossWorkersAndNoExpiredTokenIsSent() throws {
        var mode = TokenMode()
        mode.ttl = 4
        var up: ScriptFixture?
        var adminPort: UInt16 = 0
        let bed = try ProxyTestBed(tokenMode: mode, label: "workers-refresh") { c, _, tok in
            let u = try ScriptFixture("token_checking_upstream.py", label: "checking-upstream")
            up = u
            adminPort = try c.enableAdmin()
            c.server["workers"] = "2"
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(name: "api", upstream: u.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        let admin = try AdminClient(port: adminPort)
        var statuses: [Int] = []
        let end = Date().addingTimeInterval(7)
        while Date() < end {
            statuses.append(try bed.get("/x").status)
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 })")
        #expect(try up!.getJSON("/_stats")["expired"] as? Int == 0)
        let fetched = try bed.tokens.tokenRequestCount()
        #expect(fetched >= 3 && fetched <= 5, "token requests: \(fetched)")
        let perWorker = try Self.perWorker(admin)
        #expect(perWorker[0] > 0 && perWorker[1] > 0, "requests per worker: \(perWorker)")
    }
}
