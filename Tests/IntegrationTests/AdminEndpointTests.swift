import Foundation
import Testing

/// The admin listener (DESIGN.md §6): health, readiness, metrics, token listing and forced
/// refresh, on their own port.
@Suite struct AdminEndpointTests {
    private func adminBed(
        tokenMode: TokenMode? = nil, prefetch: Bool? = nil, label: String
    ) throws -> (ProxyTestBed, AdminClient) {
        var adminPort: UInt16 = 0
        let dead = try FreePort.pick()
        let bed = try ProxyTestBed(tokenMode: tokenMode, label: label) { c, up, tok in
            adminPort = try c.enableAdmin()
            var cred = ProxyTestBed.credential(tok)
            cred.prefetch = prefetch
            c.credentials = [cred]
            c.routes = [
                .init(name: "main", pathPrefix: "/api", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"]),
                .init(name: "dead", pathPrefix: "/dead", upstream: "http://127.0.0.1:\(dead)"),
            ]
        }
        return (bed, try AdminClient(port: adminPort))
    }

    @Test func healthzAndUnknownPaths() throws {
        let (bed, admin) = try adminBed(label: "healthz")
        let r = try admin.get("/healthz")
        #expect(r.status == 200)
        #expect(r.bodyText == #"{"status":"ok"}"#)
        #expect(r.header("Content-Type") == "application/json")
        #expect(try admin.get("/nope").status == 404)
        #expect(try admin.post("/healthz").status == 405)
        #expect(try admin.get("/tokens/refresh").status == 405)
        // Not on the proxy port: there it is just a path without a route.
        let p = try bed.get("/healthz")
        #expect(p.status == 404)
        #expect(p.errorCode == "no_route")
    }

    @Test func readyzWaitsForPrefetchTokens() throws {
        let (bed, admin) = try adminBed(tokenMode: TokenMode(delayMs: 1500), prefetch: true, label: "readyz")
        let before = try admin.get("/readyz")
        #expect(before.status == 503, "\(before.summary)")
        #expect(before.json?["status"] as? String == "not_ready")
        let waiting = try #require(before.json?["waiting"] as? [[String: Any]])
        #expect(waiting.first?["credential"] as? String == "idp")
        #expect(waiting.first?["resource"] as? String == "https://api.test")
        try Wait.until("/readyz to answer 200", timeout: 10) { try admin.get("/readyz").status == 200 }
        #expect(try admin.get("/readyz").bodyText == #"{"status":"ready"}"#)
        #expect(try bed.tokens.tokenRequestCount() == 1)
    }

    @Test func readyzWithoutPrefetchIsReadyAtOnce() throws {
        let (bed, admin) = try adminBed(label: "readyz-noprefetch")
        #expect(try admin.get("/readyz").status == 200)
        withExtendedLifetime(bed) {}
    }

    @Test func metricsMoveWithTrafficAndTokenFetches() throws {
        let (bed, admin) = try adminBed(label: "metrics")
        let page = try admin.get("/metrics")
        #expect(page.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        for family in ["m2m_requests_total", "m2m_request_duration_seconds", "m2m_upstream_errors_total",
                       "m2m_token_requests_total", "m2m_token_cache_waits_total", "m2m_token_expiry_seconds",
                       "m2m_token_fetch_duration_seconds", "m2m_open_connections", "m2m_active_requests"] {
            #expect(page.bodyText.contains("# HELP \(family) "), "\(family) HELP")
            #expect(page.bodyText.contains("# TYPE \(family) "), "\(family) TYPE")
        }
        let m0 = try admin.metrics()
        #expect(m0[#"m2m_requests_total{route="main",code="200",protocol="http/1.1"}"#] == nil)

        for i in 0..<3 { #expect(try bed.get("/api/\(i)").status == 200) }
        #expect(try bed.get("/dead/x").status == 502)
        #expect(try bed.get("/elsewhere").status == 404)
        let tok = #"credential="idp",resource="https://api.test""#
        var m1: [String: Double] = [:]
        // The logging phase runs when the response is complete, just after its last byte left.
        try Wait.until("requests counted") {
            m1 = try admin.metrics()
            return m1[#"m2m_requests_total{route="none",code="404",protocol="http/1.1"}"#] == 1
        }
        #expect(m1[#"m2m_requests_total{route="main",code="200",protocol="http/1.1"}"#] == 3)
        #expect(m1[#"m2m_requests_total{route="dead",code="502",protocol="http/1.1"}"#] == 1)
        #expect(m1[#"m2m_upstream_errors_total{route="dead",kind="connect_refused"}"#] == 1)
        #expect(m1[#"m2m_request_duration_seconds_count{route="main"}"#] == 3)
        #expect(m1[#"m2m_request_duration_seconds_bucket{route="main",le="+Inf"}"#] == 3)
        #expect(m1["m2m_token_requests_total{\(tok),outcome=\"ok\"}"] == 1)
        #expect(m1["m2m_token_fetch_duration_seconds_count{\(tok)}"] == 1)
        #expect(m1["m2m_token_cache_waits_total"] == 1)
        #expect((m1["m2m_token_expiry_seconds{\(tok)}"] ?? 0) > 3000)
        #expect(m1["m2m_active_requests"] == 0)

        // A held keep-alive connection shows in the gauge; more traffic moves the counters.
        let c = try bed.connect()
        try c.send("GET /api/x HTTP/1.1\r\nHost: client.test\r\n\r\n")
        #expect(try c.readResponse().status == 200)
        try Wait.until("the open connection to show") { try admin.metrics()["m2m_open_connections"] == 1 }
        let m2 = try admin.metrics()
        #expect(m2[#"m2m_requests_total{route="main",code="200",protocol="http/1.1"}"#] == 4)
        #expect(m2["m2m_token_requests_total{\(tok),outcome=\"ok\"}"] == 1)
        _ = try admin.post("/tokens/refresh")
        #expect(try admin.metrics()["m2m_token_requests_total{\(tok),outcome=\"ok\"}"] == 2)
    }

    @Test func tokensListKeysButNeverTheToken() throws {
        let (bed, admin) = try adminBed(label: "tokens")
        let cold = try admin.tokens()
        #expect(cold.count == 1)
        #expect(cold.first?["seconds_left"] is NSNull)
        #expect(try bed.get("/api/x").status == 200)
        let raw = try admin.get("/tokens").bodyText
        let list = try admin.tokens()
        let key = try #require(list.first)
        #expect(key["credential"] as? String == "idp")
        #expect(key["resource"] as? String == "https://api.test")
        #expect(key["scopes"] as? [String] == ["read"])
        #expect(key["organization_id"] is NSNull)
        #expect(key["routes"] as? [String] == ["main"])
        #expect((key["seconds_left"] as? Int ?? 0) > 3000)
        #expect((key["expires_in"] as? Int ?? 0) > 3000)
        #expect(key["fetching"] as? Bool == false)
        #expect(key["last_outcome"] as? String == "ok")
        #expect(key["last_error"] is NSNull)
        let issued = try bed.tokens.issuedTokens()
        try #require(issued.count == 1)
        #expect(!raw.contains(issued[0]))
        #expect(!raw.contains(String(issued[0].split(separator: ".").last!)))
        #expect(!raw.contains(ProxyTestBed.clientSecret))
    }

    @Test func refreshMakesExactlyOneTokenRequest() throws {
        let (bed, admin) = try adminBed(label: "refresh")
        #expect(try bed.get("/api/x").status == 200)
        #expect(try bed.tokens.tokenRequestCount() == 1)
        let r = try admin.post("/tokens/refresh")
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.json?["status"] as? String == "ok")
        #expect(try bed.tokens.tokenRequestCount() == 2)
        let byRoute = try admin.post("/tokens/refresh?route=main")
        #expect(byRoute.status == 200)
        #expect(try bed.tokens.tokenRequestCount() == 3)
        // The refreshed token is the one injected now.
        #expect(try bed.get("/api/y").status == 200)
        let issued = try bed.tokens.issuedTokens()
        #expect(try bed.upstream.lastRequest().header("Authorization") == "Bearer \(issued.last!)")

        let unknown = try admin.post("/tokens/refresh?route=unknown")
        #expect(unknown.status == 404)
        #expect(unknown.errorCode == "unknown_route")
        #expect(try admin.post("/tokens/refresh?route=dead").status == 404)  // no credential
        #expect(try bed.tokens.tokenRequestCount() == 3)
    }

    @Test func refreshReportsAFailedFetch() throws {
        let (bed, admin) = try adminBed(label: "refresh-fail")
        try bed.tokens.setMode(TokenMode(status: 401, error: "invalid_client"))
        let r = try admin.post("/tokens/refresh")
        #expect(r.status == 503, "\(r.summary)")
        #expect(r.json?["status"] as? String == "failed")
        #expect((r.json?["message"] as? String)?.contains("invalid_client") == true)
        let key = try #require(try admin.tokens().first)
        #expect(key["last_outcome"] as? String != "ok")
        #expect((key["last_error"] as? String)?.contains("invalid_client") == true)
    }

    @Test func adminPortInUseExitsWithStatus2() throws {
        let dir = try TempDir("admin-in-use")
        let holder = try BlackholeListener()
        var config = TestConfig(listenPort: try FreePort.pick())
        config.server["admin_listen"] = "\"127.0.0.1:\(holder.port)\""
        let path = try dir.write("proxy.conf", config.toml)
        let out = try ProxyProcess.runToExit(["--config", path], in: dir)
        #expect(out.status == 2)
        // One line says why (the info lines before it are the normal start log).
        let lines = out.stderr.split(separator: "\n").filter { $0.hasPrefix("m2m-proxy:") }
        #expect(lines.count == 1, "\(out.stderr)")
        #expect(!out.stderr.contains("Fatal error"))
        #expect(out.stderr.contains("admin address 127.0.0.1:\(holder.port)"))
    }
}
