import Foundation
import Testing

/// Upstream HTTP/2 and gRPC end to end (DESIGN.md §7): real grpcio server and client through
/// the proxy (prior knowledge inbound, `h2c://` upstream), real nginx as an h2c and an https
/// (ALPN) upstream, curl over HTTP/1.1 and HTTP/2.
@Suite struct UpstreamHTTP2Tests {
    /// A bed whose route `/test.Echo` goes to a grpcio server over h2c with a token.
    private func grpcBed(_ grpc: GRPCFixture, tokenMode: TokenMode? = nil, label: String) throws -> ProxyTestBed {
        try ProxyTestBed(tokenMode: tokenMode, label: label) { c, _, tok in
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(name: "grpc", pathPrefix: "/test.Echo", upstream: "h2c://127.0.0.1:\(grpc.port)",
                              credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
    }

    @Test func grpcCallsOfEveryKindCarryTheToken() throws {
        let grpc = try GRPCFixture(label: "grpc-kinds")
        let bed = try grpcBed(grpc, label: "h2u-kinds")
        let target = "127.0.0.1:\(bed.proxy.port)"
        let unary = try GRPCFixture.call(target, "Unary", ["hi"], in: bed.dir)
        let issued = try bed.tokens.issuedTokens()
        try #require(issued.count == 1)
        #expect(unary.code == "OK", "\(unary)")
        #expect(unary.responses == ["auth=Bearer \(issued[0]);hi"])
        let server = try GRPCFixture.call(target, "ServerStream", ["5"], in: bed.dir)
        #expect(server.code == "OK", "\(server)")
        #expect(server.responses == (0..<5).map { "msg\($0)" })
        let client = try GRPCFixture.call(target, "ClientStream", ["a", "b", "c"], in: bed.dir)
        #expect(client.code == "OK" && client.responses == ["a|b|c"], "\(client)")
        // Each message is sent only after the answer to the previous one arrived: this passes
        // only when both directions stream at once.
        let bidi = try GRPCFixture.call(target, "Bidi", ["x", "y", "z"], in: bed.dir)
        #expect(bidi.code == "OK" && bidi.responses == ["echo:x", "echo:y", "echo:z"], "\(bidi)")
        // 3.2 MB each way: many flow-control windows on both connections, nothing lost.
        let big = try GRPCFixture.call(target, "Bidi", ["abcdefgh", "ijklmnop"], in: bed.dir, options: ["--repeat", "400000", "--summary"])
        #expect(big.code == "OK" && big.responses == ["3200005:abcdefgh", "3200005:ijklmnop"], "\(big)")
        // The upstream's own status (trailers-only) passes through unchanged.
        let fail = try GRPCFixture.call(target, "Fail", [], in: bed.dir)
        #expect(fail.code == "PERMISSION_DENIED" && fail.details == "denied by fixture", "\(fail)")
        let records = try grpc.records()
        #expect(records.count == 6)
        for r in records { #expect(r["authorization"] as? String == "Bearer \(issued[0])", "\(r)") }
        let lines = try bed.proxy.waitForAccessLog(count: 6)
        #expect(lines.allSatisfy { $0["status"] as? Int == 200 && $0["protocol"] as? String == "HTTP/2" })
    }

    @Test func proxyFailuresAreGRPCStatuses() throws {
        let grpc = try GRPCFixture(label: "grpc-errors")
        let down = try FreePort.pick()
        let bed = try ProxyTestBed(tokenMode: TokenMode(status: 500), label: "h2u-errors") { c, _, tok in
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [
                .init(name: "grpc", pathPrefix: "/test.Echo", upstream: "h2c://127.0.0.1:\(grpc.port)",
                      credential: "idp", resource: "https://api.test", scopes: ["read"]),
                .init(name: "down", pathPrefix: "/down.Echo", upstream: "h2c://127.0.0.1:\(down)"),
                .init(name: "h1", pathPrefix: "/h1.Echo", upstream: "http://127.0.0.1:\(grpc.port)"),
            ]
        }
        let target = "127.0.0.1:\(bed.proxy.port)"
        let noToken = try GRPCFixture.call(target, "Unary", ["x"], in: bed.dir)
        #expect(noToken.code == "UNAVAILABLE", "\(noToken)")
        #expect(try grpc.records().isEmpty, "no token, nothing forwarded")
        let noRoute = try GRPCFixture.call(target, "Unary", ["x"], in: bed.dir, path: "/other.Echo/Unary")
        #expect(noRoute.code == "UNIMPLEMENTED", "\(noRoute)")
        let upstreamDown = try GRPCFixture.call(target, "Unary", ["x"], in: bed.dir, path: "/down.Echo/Unary")
        #expect(upstreamDown.code == "UNAVAILABLE", "\(upstreamDown)")
        // gRPC to an HTTP/1.1 upstream: refused, saying why.
        let h1 = try GRPCFixture.call(target, "Unary", ["x"], in: bed.dir, path: "/h1.Echo/Unary")
        #expect(h1.code == "INTERNAL" && (h1.details ?? "").contains("gRPC needs HTTP/2 to the upstream"), "\(h1)")
    }

    /// A call the client cancels mid-stream resets the upstream stream: the server sees the
    /// cancellation (its handler's context goes inactive) instead of streaming on.
    @Test func clientCancelResetsTheUpstreamStream() throws {
        let grpc = try GRPCFixture(label: "grpc-cancel")
        let bed = try grpcBed(grpc, label: "h2u-cancel")
        let hang = try GRPCFixture.call("127.0.0.1:\(bed.proxy.port)", "Hang", [], in: bed.dir)
        #expect(hang.code == "CANCELLED_BY_CLIENT" && hang.responses == ["first"], "\(hang)")
        try Wait.until("the server saw the cancellation", timeout: 10) {
            try grpc.records().contains { $0["method"] as? String == "HangEnded" }
        }
        let ended = try #require(try grpc.records().first { $0["method"] as? String == "HangEnded" })
        #expect(ended["cancelled"] as? Bool == true)
    }

    /// The server's GOAWAY (grpcio's max connection age): a call in flight finishes on the old
    /// connection, and the next call opens a new one; nothing fails.
    @Test func goAwayMovesNewCallsToANewConnection() throws {
        let grpc = try GRPCFixture(label: "grpc-goaway", maxConnectionAgeMs: 1500)
        let bed = try grpcBed(grpc, label: "h2u-goaway")
        let target = "127.0.0.1:\(bed.proxy.port)"
        let first = try GRPCFixture.call(target, "Unary", ["1"], in: bed.dir)
        #expect(first.code == "OK", "\(first)")
        // A bidirectional call that outlives the connection's age: it sees the GOAWAY mid-call.
        let long = try ChildProcess(
            name: "grpc-long", executable: TestPaths.python,
            arguments: [TestPaths.fixture("grpc_call.py"), "--target", target, "--call", "Bidi", "--pace-ms", "400"]
                + (0..<8).flatMap { ["--arg", "m\($0)"] },
            in: bed.dir)
        try Wait.until("the first connection got its GOAWAY and a new call used a new one", timeout: 20) {
            let r = try GRPCFixture.call(target, "Unary", ["n"], in: bed.dir)
            #expect(r.code == "OK", "\(r)")
            let peers = Set(try grpc.records().compactMap { $0["peer"] as? String })
            return peers.count >= 2
        }
        #expect(long.waitForExit(timeout: 30) == 0)
        #expect(long.stdout.contains("\"code\": \"OK\""), "\(long.stdout)")
        #expect(long.stdout.contains("echo:m7"), "\(long.stdout)")
    }

    /// curl over HTTP/1.1 and over HTTP/2 (prior knowledge) to a real nginx h2c upstream; many
    /// requests share the one upstream connection. A grpcio server behind an http:// route
    /// gets an error that says it speaks HTTP/2; gRPC from an HTTP/1.1 client gets 505.
    @Test func curlToH2cUpstreamOverBothProtocols() throws {
        let dir = try TempDir("h2u-curl")
        let nginx = try NginxH2Upstream(.h2c, in: dir)
        let grpc = try GRPCFixture(label: "grpc-curl")
        let bed = try ProxyTestBed(label: "h2u-curl") { c, _, tok in
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [
                .init(name: "grpc", pathPrefix: "/test.Echo", upstream: "h2c://127.0.0.1:\(grpc.port)"),
                .init(name: "h1grpc", pathPrefix: "/h1", upstream: "http://127.0.0.1:\(grpc.port)"),
                .init(name: "nginx", upstream: "h2c://127.0.0.1:\(nginx.port)/base", credential: "idp",
                      resource: "https://api.test", scopes: ["read"]),
            ]
        }
        let base = "http://127.0.0.1:\(bed.proxy.port)"
        let h1 = try curl(bed, ["-w", "\n%{http_version} %{http_code}", "\(base)/one?q=1"])
        let token = try #require(try bed.tokens.issuedTokens().first)
        #expect(h1.stdout == "proto=HTTP/2.0 auth=Bearer \(token) path=/base/one?q=1\n\n1.1 200", "\(h1.stdout)")
        let h2 = try curl(bed, ["--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}", "\(base)/two"])
        #expect(h2.stdout == "proto=HTTP/2.0 auth=Bearer \(token) path=/base/two\n\n2 200", "\(h2.stdout)")
        let bodyPath = try bed.dir.write("body.txt", String(repeating: "0123456789abcdef", count: 20000))
        let post = try curl(bed, ["--data-binary", "@\(bodyPath)", "-w", " %{http_code}", "\(base)/post"])
        #expect(post.stdout.hasSuffix(" 200") && post.stdout.contains("path=/base/post"), "\(post.stdout)")
        // Parallel HTTP/1.1 clients, one HTTP/2 connection upstream.
        var args: [String] = ["--parallel", "--parallel-immediate", "-w", "%{http_code}|"]
        for i in 0..<8 { args += ["-o", "/dev/null", "\(base)/p\(i)"] }
        let parallel = try curl(bed, args)
        #expect(parallel.stdout == String(repeating: "200|", count: 8), "\(parallel.stdout)")
        #expect(try TCPTable.count(localPort: nginx.port, state: TCPTable.established) == 1)

        // gRPC framing with curl: trailers come back as HTTP/2 trailers.
        let req = bed.dir.file("req.bin")
        FileManager.default.createFile(atPath: req, contents: Data([0, 0, 0, 0, 1, UInt8(ascii: "3")]))
        let grpcCurl = try curl(bed, ["--http2-prior-knowledge", "-i", "-H", "content-type: application/grpc", "-H", "te: trailers",
                                      "--data-binary", "@\(req)", "\(base)/test.Echo/ServerStream"])
        #expect(grpcCurl.stdout.contains("msg2") && grpcCurl.stdout.contains("grpc-status: 0"), "\(grpcCurl.stdout)")
        let grpcOverH1 = try curl(bed, ["-w", " %{http_code}", "-H", "content-type: application/grpc",
                                        "--data-binary", "@\(req)", "\(base)/test.Echo/ServerStream"])
        #expect(grpcOverH1.stdout.contains("grpc_needs_http2") && grpcOverH1.stdout.hasSuffix(" 505"), "\(grpcOverH1.stdout)")
        let h2Only = try curl(bed, ["-w", " %{http_code}", "\(base)/h1/x"])
        #expect(h2Only.stdout.contains("speaks HTTP/2 only") && h2Only.stdout.hasSuffix(" 502"), "\(h2Only.stdout)")
    }

    /// Rate-limited parallel HTTP/1.1 readers of large responses from an h2c upstream, then
    /// more: all complete on the one shared connection (its window keeps coming back). (The
    /// kernel's socket buffers absorb these rates, so this does not force DATA to be left
    /// unacknowledged when a stream closes; that path is covered by reading only.)
    @Test func slowReadersDoNotStallTheSharedConnection() throws {
        let dir = try TempDir("h2u-slow")
        let nginx = try NginxH2Upstream(.h2c, in: dir)
        let bed = try ProxyTestBed(label: "h2u-slow") { c, _, _ in
            c.routes = [.init(name: "nginx", upstream: "h2c://127.0.0.1:\(nginx.port)")]
        }
        let url = "http://127.0.0.1:\(bed.proxy.port)/big.bin"
        var args: [String] = ["--parallel", "--parallel-immediate", "--limit-rate", "2M", "-w", "%{http_code}:%{size_download}|"]
        for i in 0..<4 { args += ["-o", bed.dir.file("slow\(i)"), url] }
        let slow = try curl(bed, args)
        #expect(slow.stdout == String(repeating: "200:2097152|", count: 4), "\(slow.stdout)")
        for _ in 0..<3 {
            let fast = try curl(bed, ["-o", "/dev/null", "-m", "10", "-w", "%{http_code}:%{size_download}", url])
            #expect(fast.stdout == "200:2097152", "\(fast.stdout)")
        }
        #expect(try TCPTable.count(localPort: nginx.port, state: TCPTable.established) == 1)
    }

    /// https with `http2 = true`: ALPN h2 when the server agrees, HTTP/1.1 when it does not.
    @Test func httpsUpstreamNegotiatesH2OrFallsBack() throws {
        let dir = try TempDir("h2u-alpn")
        let h2 = try NginxH2Upstream(.tlsH2, in: dir)
        let h1 = try NginxH2Upstream(.tlsHTTP1, in: dir)
        let ca = try TestPKI.get().caFile
        let bed = try ProxyTestBed(label: "h2u-alpn") { c, _, _ in
            c.routes = [
                .init(name: "h2", pathPrefix: "/h2", upstream: "https://localhost:\(h2.port)", extra: ["http2": "true", "tls_ca_file": "\"\(ca)\""]),
                .init(name: "h1", pathPrefix: "/h1", upstream: "https://localhost:\(h1.port)", extra: ["http2": "true", "tls_ca_file": "\"\(ca)\""]),
                .init(name: "plain", pathPrefix: "/plain", upstream: "https://localhost:\(h2.port)", extra: ["tls_ca_file": "\"\(ca)\""]),
            ]
        }
        for _ in 0..<2 {
            #expect(try bed.get("/h2/a").bodyText.hasPrefix("proto=HTTP/2.0 "))
            #expect(try bed.get("/h1/b").bodyText.hasPrefix("proto=HTTP/1.1 "))
            #expect(try bed.get("/plain/c").bodyText.hasPrefix("proto=HTTP/1.1 "))
        }
    }

    /// RFC 9113 §8.7: a stream the upstream refused (RST_STREAM REFUSED_STREAM, or above a
    /// GOAWAY's last stream id) was not processed, so the request (a POST too) goes once more on
    /// a new connection and the client gets the answer, not a 502.
    @Test(arguments: [false, true])
    func refusedStreamIsRetriedOnANewConnection(goAway: Bool) throws {
        let refusing = try ScriptFixture("h2_refusing_upstream.py", label: goAway ? "h2refuse-goaway" : "h2refuse-rst",
                                         extraArguments: goAway ? ["--goaway"] : [])
        let bed = try ProxyTestBed(label: "h2u-refused") { c, _, _ in
            c.routes = [.init(name: "svc", upstream: "h2c://127.0.0.1:\(refusing.port)")]
        }
        let r = try bed.exchange("POST /orders HTTP/1.1\r\nHost: client.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        #expect(r.status == 200 && r.bodyText == "conn=2 body=5", "\(r.summary)")
        let events = try refusing.records().map { $0["event"] as? String ?? "?" }
        #expect(events.filter { $0 == "connection" }.count == 2, "\(events)")
        #expect(events.filter { $0 == "refused" }.count == 1 && events.filter { $0 == "request" }.count == 1, "\(events)")
        let lines = try bed.proxy.waitForAccessLog(count: 1)
        #expect(lines.map { $0["status"] as? Int } == [200])
        #expect(lines.map { $0["upstream_error"] as? String } == [nil])
    }

    /// Refused again on the one retry: 502 saying the upstream refused the stream, logged and
    /// counted as `refused_stream` (not `closed`: the upstream did not fail, it declined), and the
    /// endpoint is not ejected with `max_fails = 1` (the second request still reaches it, not 503).
    @Test func refusedStreamTwiceIs502RefusedStream() throws {
        let refusing = try ScriptFixture("h2_refusing_upstream.py", label: "h2refuse-always", extraArguments: ["--always"])
        var adminPort: UInt16 = 0
        let bed = try ProxyTestBed(label: "h2u-refused-twice") { c, _, _ in
            adminPort = try c.enableAdmin()
            c.routes = [.init(name: "svc", upstream: "h2c://127.0.0.1:\(refusing.port)")]
            c.limits["max_fails"] = 1
        }
        for _ in 0..<2 {
            let r = try bed.exchange("GET /orders HTTP/1.1\r\nHost: client.test\r\nConnection: close\r\n\r\n")
            #expect(r.status == 502 && r.bodyText.contains("refused the request's HTTP/2 stream"), "\(r.summary)")
        }
        let events = try refusing.records().map { $0["event"] as? String ?? "?" }
        #expect(events.filter { $0 == "refused" }.count == 4, "\(events)")
        let lines = try bed.proxy.waitForAccessLog(count: 2)
        #expect(lines.map { $0["upstream_error"] as? String } == ["refused_stream", "refused_stream"])
        let m = try AdminClient(port: adminPort).metrics()
        #expect(m[#"m2m_upstream_errors_total{route="svc",kind="refused_stream"}"#] == 2)
        #expect(m[#"m2m_upstream_errors_total{route="svc",kind="closed"}"#] == nil)
    }

    /// HTTP/2 has no reason phrase: an HTTP/1.1 client of an HTTP/2 upstream gets the registered
    /// one (RFC 9110 §15), and for a code without one just the code and its space, as nginx.
    @Test func http1ClientsGetTheStandardReasonPhrase() throws {
        let dir = try TempDir("h2u-reason")
        let nginx = try NginxH2Upstream(.h2c, in: dir)
        let bed = try ProxyTestBed(label: "h2u-reason") { c, _, _ in
            c.routes = [.init(name: "nginx", upstream: "h2c://127.0.0.1:\(nginx.port)")]
        }
        let cases = [("/x", "HTTP/1.1 200 OK\r\n"), ("/status/201", "HTTP/1.1 201 Created\r\n"),
                     ("/status/404", "HTTP/1.1 404 Not Found\r\n"), ("/status/299", "HTTP/1.1 299 \r\n")]
        for (path, statusLine) in cases {
            let c = try bed.connect()
            try c.send("GET \(path) HTTP/1.1\r\nHost: client.test\r\nConnection: close\r\n\r\n")
            let raw = String(decoding: try c.readUntilClose(), as: UTF8.self)
            #expect(raw.hasPrefix(statusLine), "\(path): \(raw.prefix(120))")
        }
    }

    /// gRPC needs HTTP/2 on both sides: with `http2 = true` and an endpoint whose ALPN chose
    /// HTTP/1.1, a gRPC call is not sent over HTTP/1.1 but answered UNAVAILABLE saying why,
    /// both while it waited for the HTTP/2 connection (the first call) and after the endpoint
    /// fell back; other requests use HTTP/1.1. Counted against the upstream.
    @Test func grpcIsRefusedWhenALPNChoseHTTP1() throws {
        let pki = try TestPKI.get()
        let upDir = try TempDir("h2u-alpn-grpc-up")
        let h1 = try UpstreamFixture(in: upDir, tls: pki.pair("server"))
        var adminPort: UInt16 = 0
        let bed = try ProxyTestBed(label: "h2u-alpn-grpc") { c, _, _ in
            adminPort = try c.enableAdmin()
            c.routes = [.init(name: "grpc", pathPrefix: "/test.Echo", upstream: h1.url,
                              extra: ["http2": "true", "tls_ca_file": "\"\(pki.caFile)\""])]
        }
        let target = "127.0.0.1:\(bed.proxy.port)"
        let first = try GRPCFixture.call(target, "Unary", ["x"], in: bed.dir)
        #expect(first.code == "UNAVAILABLE", "\(first)")
        #expect((first.details ?? "").contains("gRPC needs HTTP/2 to the upstream") && (first.details ?? "").contains("ALPN"), "\(first)")
        let plain = try bed.get("/test.Echo/plain")
        #expect(plain.status == 200, "\(plain.summary)")
        let again = try GRPCFixture.call(target, "Unary", ["y"], in: bed.dir)
        #expect(again.code == "UNAVAILABLE" && (again.details ?? "").contains("chose HTTP/1.1 in ALPN"), "\(again)")
        #expect(try h1.requests().map(\.path) == ["/test.Echo/plain"], "no gRPC call reached the HTTP/1.1 upstream")
        let lines = try bed.proxy.waitForAccessLog(count: 3)
        #expect(lines.map { $0["upstream_error"] as? String } == ["alpn_fallback", nil, "alpn_fallback"])
        let m = try AdminClient(port: adminPort).metrics()
        #expect(m[#"m2m_upstream_errors_total{route="grpc",kind="alpn_fallback"}"#] == 2)
    }

    private func curl(_ bed: ProxyTestBed, _ args: [String]) throws -> ChildProcess {
        let p = try ChildProcess(name: "curl-\(UInt32.random(in: 0...UInt32.max))", executable: "/usr/bin/curl",
                                 arguments: ["-sS"] + args, in: bed.dir)
        #expect(p.waitForExit(timeout: 30) == 0, "\(p.stderr)")
        return p
    }
}
