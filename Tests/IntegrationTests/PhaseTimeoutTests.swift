import Foundation
import Testing

/// DESIGN.md §3 "Timeouts:" and §4 (client gone, tunnels): each timer runs in its own phase and
/// each expiry names the party that was expected to act (README "Timeouts").
@Suite struct PhaseTimeoutTests {
    /// A bed whose routes lead to the lenient recording upstream (`lenient_upstream.py`).
    static func bed(
        limits: [String: Int] = [:], label: String,
        routes: (String) -> [TestConfig.Route] = { [.init(name: "main", upstream: $0)] }
    ) throws -> (ProxyTestBed, ScriptFixture, AdminClient) {
        var fixture: ScriptFixture?
        var adminPort: UInt16 = 0
        let bed = try ProxyTestBed(label: label) { c, _, _ in
            let f = try ScriptFixture("lenient_upstream.py", label: "\(label)-up")
            fixture = f
            adminPort = try c.enableAdmin()
            c.limits = limits
            c.routes = routes(f.url)
        }
        return (bed, fixture!, try AdminClient(port: adminPort))
    }

    static func upstreamErrors(_ admin: AdminClient) throws -> [String: Double] {
        try admin.metrics().filter { $0.key.hasPrefix("m2m_upstream_errors_total{") && $0.value > 0 }
    }

    /// Before: the response timer started with the head and raced the client's body timer, so a
    /// stalled uploader got 504 and the upstream was counted as failing.
    @Test func stalledUploaderGets408NeverA504() throws {
        let (bed, up, admin) = try Self.bed(limits: ["response_timeout_ms": 300, "body_timeout_ms": 1500], label: "stall")
        defer { withExtendedLifetime(up) {} }
        let c = try bed.connect()
        try c.send("POST /upload HTTP/1.1\r\nHost: client.test\r\nContent-Length: 10\r\n\r\nabc")
        ErrorTableTests.expectProxyError(try c.readResponse(timeout: 10), 408, "request_timeout")
        let line = try #require(try bed.proxy.waitForAccessLog(count: 1).first)
        #expect(line["error"] as? String == "request_timeout")
        #expect(line["upstream_error"] is NSNull)
        #expect(try Self.upstreamErrors(admin).isEmpty)
    }

    /// Before: response_timeout_ms was re-armed between body reads and cut a quiet stream; now
    /// read_timeout_ms (default 60 s) covers the body, per route.
    @Test func readTimeoutNotResponseTimeoutCoversTheBody() throws {
        let (bed, up, _) = try Self.bed(limits: ["response_timeout_ms": 300], label: "readto") { url in
            [.init(name: "strict", pathPrefix: "/strict", upstream: url, extra: ["read_timeout_ms": "300"]),
             .init(name: "main", upstream: url)]
        }
        defer { withExtendedLifetime(up) {} }
        // A 1.5 s pause inside the body, longer than response_timeout_ms: passes.
        let ok = try bed.get("/drip?gap_ms=1500")
        #expect(ok.status == 200, "\(ok.summary)")
        #expect(ok.bodyText == "firstsecond")
        // The same pause on a route with read_timeout_ms = 300: the body is cut.
        let c = try bed.connect()
        try c.send("GET /strict/drip?gap_ms=3000 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let cut = try? c.readResponse(timeout: 10)
        #expect(cut == nil, "the body should have been cut")
        let lines = try bed.proxy.waitForAccessLog(count: 2)
        #expect(lines[1]["route"] as? String == "strict")
        #expect(lines[1]["upstream_error"] as? String == "read_timeout")
        #expect(lines[1]["error"] as? String == "upstream_timeout")
    }

    /// A retry on a fresh connection (the pooled one closed under the request) re-sends the whole
    /// request at once: the response timer runs on the new connection too.
    @Test func retriedRequestStillHasAResponseTimer() throws {
        let bed = try ProxyTestBed(label: "retryto") { c, up, _ in
            c.limits = ["response_timeout_ms": 500]
            c.routes = [.init(name: "main", upstream: up.url)]
        }
        let c = try bed.connect()
        try c.send("GET /close-next HTTP/1.1\r\nHost: client.test\r\n\r\n")
        #expect(try c.readResponse().status == 200)
        let start = Date()
        try c.send("GET /hang HTTP/1.1\r\nHost: client.test\r\n\r\n")
        ErrorTableTests.expectProxyError(try c.readResponse(timeout: 15), 504, "upstream_timeout")
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(try bed.upstream.requests().map(\.path) == ["/close-next", "/hang", "/hang"])
    }

    /// A route's own response_timeout_ms: only that route answers 504 early.
    @Test func perRouteResponseTimeout() throws {
        let (bed, up, admin) = try Self.bed(label: "routeto") { url in
            [.init(name: "quick", pathPrefix: "/quick", upstream: url, extra: ["response_timeout_ms": "300"]),
             .init(name: "main", upstream: url)]
        }
        defer { withExtendedLifetime(up) {} }
        let start = Date()
        let r = try bed.get("/quick/slow?ms=4000")
        ErrorTableTests.expectProxyError(r, 504, "upstream_timeout")
        #expect(Date().timeIntervalSince(start) < 3.5)
        #expect(r.errorMessage?.contains("300 ms") == true, "\(r.summary)")
        #expect(try bed.get("/slow?ms=600").status == 200)
        #expect(try admin.metrics()["m2m_upstream_errors_total{route=\"quick\",kind=\"response_timeout\"}"] == 1)
    }

    /// Before: a client that closed while the upstream worked left the upstream request running
    /// until response_timeout_ms (30 s) and was logged as a 502.
    @Test func clientThatLeavesIs499AndTheUpstreamConnectionCloses() throws {
        let (bed, fixture, admin) = try Self.bed(label: "gone")
        for how in ["close", "reset"] {
            let c = try bed.connect()
            try c.send("GET /hold?\(how) HTTP/1.1\r\nHost: client.test\r\n\r\n")
            try Wait.until("the upstream to get the request") { try fixture.records().contains { $0["target"] as? String == "/hold?\(how)" } }
            if how == "close" { c.close() } else { c.reset() }
            try Wait.until("the proxy to close the upstream connection (\(how))", timeout: 10) {
                try fixture.records().contains { $0["event"] as? String == "peer_closed" && $0["target"] as? String == "/hold?\(how)" }
            }
        }
        let lines = try bed.proxy.waitForAccessLog(count: 2)
        for line in lines {
            #expect(line["status"] as? Int == 499)
            #expect(line["error"] as? String == "client_closed")
            #expect(line["upstream_error"] is NSNull)
        }
        #expect(try admin.metrics()["m2m_requests_total{route=\"main\",code=\"499\",protocol=\"http/1.1\"}"] == 2)
        #expect(try Self.upstreamErrors(admin).isEmpty)
    }

    /// tunnel_idle_timeout_ms closes a silent tunnel; the log counts the tunnel's bytes.
    @Test func silentTunnelIsClosedAndItsBytesAreLogged() throws {
        var echo: ScriptFixture?
        let bed = try ProxyTestBed(label: "tunnelidle") { c, _, _ in
            let e = try ScriptFixture("upgrade_echo.py", label: "tunnelidle-echo")
            echo = e
            c.routes = [.init(name: "ws", upstream: e.url, extra: ["tunnel_idle_timeout_ms": "500"])]
        }
        _ = echo
        let c = try bed.connect()
        let request = "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        try c.send(request)
        #expect(try c.readInterimHead().status == 101)
        let payload = Array(repeating: UInt8(ascii: "x"), count: 10_000)
        try c.send(payload)
        #expect(try c.readBytes(payload.count, timeout: 10) == payload)
        #expect(try c.waitForPeerClose(timeout: 8), "the idle tunnel was not closed")
        let line = try #require(try bed.proxy.waitForAccessLog(count: 1).first)
        #expect(line["status"] as? Int == 101)
        #expect(line["error"] as? String == "tunnel_idle_timeout")
        #expect((line["bytes_in"] as? Int ?? 0) >= request.utf8.count + payload.count, "\(line)")
        #expect((line["bytes_out"] as? Int ?? 0) >= payload.count, "\(line)")
    }

    /// An inbound TLS connection that never completes its handshake is closed after
    /// header_timeout_ms, not idle_timeout_ms.
    @Test func stalledTLSHandshakeIsBoundedByTheHeaderTimeout() throws {
        let pki = try TestPKI.get()
        let tlsPort = try FreePort.pick()
        let server = pki.pair("server")
        let bed = try ProxyTestBed(label: "tlsstall") { c, up, _ in
            c.server["tls_listen"] = TestConfig.quote("127.0.0.1:\(tlsPort)")
            c.server["tls_cert_file"] = TestConfig.quote(server.cert)
            c.server["tls_key_file"] = TestConfig.quote(server.key)
            c.limits = ["header_timeout_ms": 300, "idle_timeout_ms": 60000]
            c.routes = [.init(upstream: up.url)]
        }
        try Wait.until("the TLS port to accept") { Wait.canConnect(port: tlsPort) }
        _ = bed
        let c = try RawHTTPConnection(port: tlsPort)
        try c.send([0x16, 0x03, 0x01])  // the start of a ClientHello, never finished
        #expect(try c.waitForPeerClose(timeout: 8))
    }
}
