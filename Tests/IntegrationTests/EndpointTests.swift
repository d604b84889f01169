import Foundation
import Testing

/// Several upstream endpoints (DESIGN.md §4, issue 14) against real upstreams: a list of URLs,
/// a name with several addresses (the proxy runs in a private mount namespace with its own
/// /etc/hosts, never the machine's), failover, ejection and return, and DNS changes.
@Suite(.serialized) struct EndpointTests {
    /// A proxy (one worker, admin on) whose route "api" has `upstream = urls`.
    final class Bed {
        let dir: TempDir
        var upstreams: [UpstreamFixture] = []
        var proxy: ProxyProcess!
        var admin: AdminClient!
        var hostsFile = ""

        init(_ label: String) throws { dir = try TempDir(label) }

        func start(_ urls: [String], limits: [String: Int] = [:], extra: [String: String] = [:], hosts: String? = nil, workers: Int = 1) throws {
            var c = TestConfig(listenPort: try FreePort.pick())
            let adminPort = try c.enableAdmin()
            c.server["workers"] = "\(workers)"
            c.limits = limits
            c.routes = [.init(name: "api", upstream: urls[0], upstreams: urls, extra: extra)]
            if let hosts { hostsFile = try dir.write("hosts", hosts) }
            proxy = try ProxyProcess(config: c, in: dir, hostsFile: hosts == nil ? nil : hostsFile)
            admin = try AdminClient(port: adminPort)
        }

        func upstream(_ name: String, host: String = "127.0.0.1", port: UInt16 = 0) throws -> UpstreamFixture {
            let u = try UpstreamFixture(in: dir, name: name, host: host, port: port)
            upstreams.append(u)
            return u
        }

        func get(_ path: String, keepAlive: RawHTTPConnection? = nil) throws -> HTTPResponse {
            let c = try keepAlive ?? proxy.connect()
            try c.send("GET \(path) HTTP/1.1\r\nHost: client.test\r\n\(keepAlive == nil ? "Connection: close\r\n" : "")\r\n")
            return try c.readResponse()
        }

        /// Rewrites the private hosts file in place (the bind mount follows the inode).
        func setHosts(_ text: String) throws {
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: hostsFile))
            try h.truncate(atOffset: 0)
            try h.write(contentsOf: Data(text.utf8))
            try h.close()
        }

        func waitForEndpoints(_ expected: Set<String>) throws {
            try Wait.until("endpoints \(expected.sorted())", timeout: 15) {
                Set(try admin.upstreams(route: "api").keys) == expected
            }
        }
    }

    static func paths(_ u: UpstreamFixture) throws -> [String] { try u.requests().map(\.path) }

    @Test func aListIsSpreadRoundRobin() throws {
        let bed = try Bed("ep-list")
        let ups = try (0..<3).map { try bed.upstream("u\($0)") }
        try bed.start(ups.map(\.url))
        for i in 0..<30 { #expect(try bed.get("/r\(i)").status == 200) }
        for u in ups {
            let n = try u.requests().count
            #expect(n == 10, "\(u.port): \(n)")
        }
        // The access log names the endpoint that answered.
        let lines = try bed.proxy.waitForAccessLog(count: 30)
        let named = Set(lines.compactMap { $0["upstream"] as? String })
        #expect(named == Set(ups.map { "127.0.0.1:\($0.port)" }))
        let m = try bed.admin.metrics()
        for u in ups {
            #expect(m["m2m_upstream_endpoint_requests_total{route=\"api\",endpoint=\"127.0.0.1:\(u.port)\"}"] == 10)
            #expect(m["m2m_upstream_endpoint_up{route=\"api\",endpoint=\"127.0.0.1:\(u.port)\"}"] == 1)
        }
    }

    @Test func leastRequestUsesEveryEndpoint() throws {
        let bed = try Bed("ep-lr")
        let ups = try (0..<2).map { try bed.upstream("u\($0)") }
        try bed.start(ups.map(\.url), extra: ["balance": "\"least_request\""])
        for i in 0..<40 { #expect(try bed.get("/r\(i)").status == 200) }
        let counts = try ups.map { try $0.requests().count }
        #expect(counts.reduce(0, +) == 40)
        #expect(counts.allSatisfy { $0 >= 8 }, "\(counts)")
    }

    @Test func aNameWithSeveralAddressesIsSpread() throws {
        let bed = try Bed("ep-multi")
        let a = try bed.upstream("a", host: "127.0.0.2")
        let b = try bed.upstream("b", host: "127.0.0.3", port: a.port)
        let v6 = try bed.upstream("v6", host: "::1", port: a.port)
        try bed.start(["http://multi.test:\(a.port)"], hosts: "127.0.0.2 multi.test\n127.0.0.3 multi.test\n::1 multi.test\n")
        try bed.waitForEndpoints(["127.0.0.2:\(a.port)", "127.0.0.3:\(a.port)", "[::1]:\(a.port)"])
        for i in 0..<30 { #expect(try bed.get("/m\(i)").status == 200) }
        let counts = try [a, b, v6].map { try $0.requests().count }
        #expect(counts == [10, 10, 10], "A and AAAA records are all endpoints")
    }

    @Test func failoverFromADeadEndpointSendsNothingTwice() throws {
        let bed = try Bed("ep-failover")
        let alive = try bed.upstream("alive")
        let dead = try FreePort.pick()
        try bed.start([alive.url, "http://127.0.0.1:\(dead)"], limits: ["max_fails": 1000])
        for i in 0..<20 { #expect(try bed.get("/f\(i)").status == 200) }
        let paths = try Self.paths(alive)
        #expect(paths.count == 20)
        #expect(Set(paths).count == 20, "a request reached the upstream twice: \(paths)")
        let dead1 = try #require(try bed.admin.upstreams(route: "api")["127.0.0.1:\(dead)"])
        #expect(dead1["failures"] as? Int == 10, "every other request tried the dead one first")
        // The access log names the endpoint that answered, not the one that failed.
        let lines = try bed.proxy.waitForAccessLog(count: 20)
        #expect(lines.allSatisfy { $0["upstream"] as? String == "127.0.0.1:\(alive.port)" && $0["upstream_error"] is NSNull })
    }

    @Test func aFailingEndpointIsEjectedAndComesBack() throws {
        let bed = try Bed("ep-eject")
        let alive = try bed.upstream("alive")
        let deadPort = try FreePort.pick()
        let deadLabel = "127.0.0.1:\(deadPort)"
        try bed.start([alive.url, "http://127.0.0.1:\(deadPort)"], limits: ["max_fails": 2, "fail_timeout_ms": 1500])
        for i in 0..<10 { #expect(try bed.get("/e\(i)").status == 200) }
        var ep = try #require(try bed.admin.upstreams(route: "api")[deadLabel])
        #expect(ep["state"] as? String == "ejected", "\(ep)")
        #expect(ep["failures"] as? Int == 2, "ejected after max_fails, not tried while ejected: \(ep)")
        #expect(ep["ejected_until"] is String)
        let m = try bed.admin.metrics()
        #expect(m["m2m_upstream_endpoint_up{route=\"api\",endpoint=\"\(deadLabel)\"}"] == 0)
        #expect(m["m2m_upstream_ejections_total{route=\"api\",endpoint=\"\(deadLabel)\"}"] == 1)
        #expect(bed.proxy.output.contains("ejected for 1500 ms"))

        // It comes back: once fail_timeout_ms has passed it is tried again and takes requests.
        let back = try bed.upstream("back", port: deadPort)
        try Wait.until("the ejection to end", timeout: 10) {
            try bed.admin.upstreams(route: "api")[deadLabel]?["state"] as? String == "healthy"
        }
        for i in 0..<10 { #expect(try bed.get("/b\(i)").status == 200) }
        #expect(try back.requests().count == 5)
        ep = try #require(try bed.admin.upstreams(route: "api")[deadLabel])
        #expect(ep["failures"] as? Int == 2)
    }

    /// Two loops: the one that ejects tells the other through the control loop, so the fleet
    /// pays `max_fails` failures once, not once per loop.
    @Test func anEjectionReachesEveryLoop() throws {
        let bed = try Bed("ep-loops")
        let alive = try bed.upstream("alive")
        let deadPort = try FreePort.pick()
        try bed.start([alive.url, "http://127.0.0.1:\(deadPort)"], limits: ["max_fails": 2, "fail_timeout_ms": 60000], workers: 2)
        for i in 0..<40 { #expect(try bed.get("/w\(i)").status == 200) }
        let m = try bed.admin.metrics()
        let served = [m["m2m_worker_requests_total{worker=\"0\"}"] ?? 0, m["m2m_worker_requests_total{worker=\"1\"}"] ?? 0]
        try #require(served.allSatisfy { $0 >= 6 }, "both loops must serve for this test: \(served)")
        let ep = try #require(try bed.admin.upstreams(route: "api")["127.0.0.1:\(deadPort)"])
        // Each loop counts its own failures: before the first ejection the other loop may have
        // seen one of them (3); without the shared ejection it would need max_fails of its own
        // (4, and 2 ejections).
        #expect((ep["failures"] as? Int ?? 99) <= 3, "\(ep)")
        #expect(ep["ejections"] as? Int == 1, "\(ep)")
    }

    @Test func allDeadIs502WithinTheConnectTimeoutAndEjectionAloneNever502s() throws {
        let bed = try Bed("ep-alldead")
        let ports = try [FreePort.pick(), FreePort.pick()]
        try bed.start(ports.map { "http://127.0.0.1:\($0)" },
                      limits: ["max_fails": 1, "fail_timeout_ms": 60000, "connect_timeout_ms": 2000])
        let t0 = Date()
        let r = try bed.get("/x")
        ErrorTableTests.expectProxyError(r, 502, "upstream_unavailable")
        #expect(Date().timeIntervalSince(t0) < 2.0)
        let eps = try bed.admin.upstreams(route: "api")
        #expect(eps.values.allSatisfy { $0["state"] as? String == "ejected" }, "\(eps)")
        // Both ejected for a minute, but one is back: it is tried (ejection alone is no 502).
        let back = try bed.upstream("back", port: ports[1])
        #expect(try bed.get("/y").status == 200)
        #expect(try back.requests().count == 1)
    }

    @Test func aDNSChangeMovesNewAndPooledTraffic() throws {
        let bed = try Bed("ep-dns")
        let blue = try bed.upstream("blue", host: "127.0.0.2")
        let green = try bed.upstream("green", host: "127.0.0.3", port: blue.port)
        try bed.start(["http://app.test:\(blue.port)"], limits: ["dns_refresh_ms": 300],
                      hosts: "127.0.0.2 app.test\n")
        try bed.waitForEndpoints(["127.0.0.2:\(blue.port)"])
        let client = try bed.proxy.connect()
        for i in 0..<5 { #expect(try bed.get("/blue\(i)", keepAlive: client).status == 200) }
        #expect(try blue.requests().count == 5)
        #expect(Set(try blue.requests().map(\.connId)).count == 1, "one pooled upstream connection")

        try bed.setHosts("127.0.0.3 app.test\n")
        try bed.waitForEndpoints(["127.0.0.3:\(blue.port)"])
        for i in 0..<5 { #expect(try bed.get("/green\(i)", keepAlive: client).status == 200) }
        for i in 0..<5 { #expect(try bed.get("/new\(i)").status == 200) }
        #expect(try blue.requests().count == 5, "blue is still up but left DNS: no more traffic")
        #expect(try green.requests().count == 10)
    }
}
