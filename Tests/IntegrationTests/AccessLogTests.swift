import Foundation
import Testing

/// One JSON access-log line per request on stdout, and X-Request-Id kept or generated and
/// forwarded (DESIGN.md §6 companion; README "Access log").
@Suite struct AccessLogTests {
    private func bed(accessLog: Bool? = nil, label: String) throws -> ProxyTestBed {
        let dead = try FreePort.pick()
        return try ProxyTestBed(label: label) { c, up, tok in
            if let accessLog { c.server["access_log"] = "\(accessLog)" }
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [
                .init(name: "main", pathPrefix: "/api", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"]),
                .init(name: "dead", pathPrefix: "/dead", upstream: "http://127.0.0.1:\(dead)"),
                .init(name: "hang", pathPrefix: "/hang", upstream: up.url),
            ]
        }
    }

    @Test func fieldsOfA200AndA502() throws {
        let bed = try bed(label: "alog")
        let ok = try bed.get("/api/items/1?secret=q", extraHeaders: "X-Request-Id: client-id-1\r\n")
        #expect(ok.status == 200)
        let bad = try bed.get("/dead/x")
        #expect(bad.status == 502)
        let lines = try bed.proxy.waitForAccessLog(count: 2)
        #expect(lines.count == 2)
        let a = lines[0], b = lines[1]
        let keys: Set<String> = ["time", "request_id", "client", "route", "method", "protocol", "path", "status", "bytes_in", "bytes_out",
                                 "duration_ms", "upstream_ms", "upstream", "token_wait_ms", "error", "upstream_error"]
        #expect(Set(a.keys) == keys)
        #expect(Set(b.keys) == keys)

        #expect((a["time"] as? String)?.hasSuffix("Z") == true)
        #expect(a["request_id"] as? String == "client-id-1")
        #expect(a["route"] as? String == "main")
        #expect(a["method"] as? String == "GET")
        #expect(a["path"] as? String == "/api/items/1")
        #expect(a["status"] as? Int == 200)
        #expect((a["bytes_in"] as? Int ?? 0) > 40)
        #expect(a["bytes_out"] as? Int == ok.body.count + (try headBytes(ok)))
        #expect((a["duration_ms"] as? Double ?? -1) > 0)
        #expect((a["upstream_ms"] as? Double ?? -1) > 0)
        #expect(a["upstream"] as? String == "127.0.0.1:\(bed.upstream.port)")
        #expect((a["token_wait_ms"] as? Double ?? -1) > 0, "the first request waits for the token")
        #expect(a["error"] is NSNull)
        #expect(a["upstream_error"] is NSNull)

        #expect(b["route"] as? String == "dead")
        #expect(b["status"] as? Int == 502)
        #expect(b["error"] as? String == "upstream_unavailable")
        #expect(b["upstream_error"] as? String == "connect_refused")
        #expect(b["token_wait_ms"] as? Double == 0)
        #expect((b["request_id"] as? String)?.count == 16)
        #expect(!bed.proxy.process.stdout.contains("secret=q"))
    }

    /// The response's head size, as the proxy wrote it (status line, headers, blank line).
    private func headBytes(_ r: HTTPResponse) throws -> Int {
        var n = "\(r.version) \(r.status) \(r.reason)\r\n".utf8.count + 2
        for h in r.headers { n += "\(h.name): \(h.value)\r\n".utf8.count }
        return n
    }

    @Test func requestIDForwardedOrGenerated() throws {
        let bed = try bed(label: "reqid")
        #expect(try bed.get("/api/a", extraHeaders: "X-Request-Id: abc-123\r\n").status == 200)
        #expect(try bed.upstream.lastRequest().headerValues("X-Request-Id") == ["abc-123"])

        #expect(try bed.get("/api/b").status == 200)
        let generated = try #require(try bed.upstream.lastRequest().headerValues("X-Request-Id").first)
        #expect(generated.count == 16)
        #expect(generated.allSatisfy { $0.isHexDigit && !$0.isUppercase })

        // Not sane (a space; too long): replaced, never forwarded twice.
        #expect(try bed.get("/api/c", extraHeaders: "X-Request-Id: has space\r\n").status == 200)
        let replaced = try bed.upstream.lastRequest().headerValues("X-Request-Id")
        #expect(replaced.count == 1)
        #expect(replaced.first != "has space")
        #expect(try bed.get("/api/d", extraHeaders: "X-Request-Id: \(String(repeating: "x", count: 129))\r\n").status == 200)
        #expect(try bed.upstream.lastRequest().headerValues("X-Request-Id").first?.count == 16)

        let lines = try bed.proxy.waitForAccessLog(count: 4)
        #expect(lines.map { $0["request_id"] as? String } == ["abc-123", generated, replaced.first, try bed.upstream.lastRequest().header("X-Request-Id")])
        // Consecutive generated IDs differ.
        #expect(Set(lines.compactMap { $0["request_id"] as? String }).count == 4)
    }

    @Test func errorsBeforeRoutingAndAbortsAreLogged() throws {
        let bed = try bed(label: "alog-errors")
        let bad = try bed.exchange("GET /api/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        #expect(bad.status == 400)
        let c = try bed.connect()
        try c.send("GET /nowhere HTTP/1.1\r\nHost: client.test\r\n\r\n")
        #expect(try c.readResponse().status == 404)
        // A client that leaves while its request is in flight: logged as 499 "client_closed".
        let gone = try bed.connect()
        try gone.send("GET /hang HTTP/1.1\r\nHost: client.test\r\n\r\n")
        try Wait.until("the upstream to receive /hang") { try bed.upstream.requests().contains { $0.path == "/hang" } }
        gone.reset()
        let lines = try bed.proxy.waitForAccessLog(count: 3)
        #expect(lines[0]["status"] as? Int == 400)
        #expect(lines[0]["error"] as? String == "bad_request")
        #expect(lines[1]["status"] as? Int == 404)
        #expect(lines[1]["route"] is NSNull)
        #expect(lines[2]["status"] as? Int == 499)
        #expect(lines[2]["error"] as? String == "client_closed")
    }

    @Test func accessLogCanBeSwitchedOff() throws {
        let bed = try bed(accessLog: false, label: "alog-off")
        for _ in 0..<3 { #expect(try bed.get("/api/x").status == 200) }
        bed.proxy.process.stop()
        #expect(bed.proxy.accessLog.isEmpty)
        #expect(bed.proxy.process.stdout.isEmpty)
    }

    @Test func linesAreFlushedAtExit() throws {
        let bed = try bed(label: "alog-exit")
        for _ in 0..<5 { #expect(try bed.get("/api/x").status == 200) }
        bed.proxy.process.stop()
        #expect(bed.proxy.accessLog.count == 5)
    }
}
