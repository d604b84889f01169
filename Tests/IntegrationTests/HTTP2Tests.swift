import Foundation
import Testing

/// HTTP/2 with prior knowledge on the plain listener (DESIGN.md §7), with curl (nghttp2) as the
/// client and the HTTP/1.1 fixture upstream: the stream is routed, gets its token, is forwarded
/// as HTTP/1.1 and answered as HTTP/2; HTTP/1.1 on the same port keeps working.
@Suite struct HTTP2Tests {
    private func curl(_ bed: ProxyTestBed, _ args: [String], name: String = "curl") throws -> ChildProcess {
        let p = try ChildProcess(
            name: name, executable: "/usr/bin/curl",
            arguments: ["-sS", "--http2-prior-knowledge"] + args, in: bed.dir)
        #expect(p.waitForExit(timeout: 30) == 0, "\(p.stderr)")
        return p
    }

    @Test func priorKnowledgeGetsTokenAndBody() throws {
        let bed = try ProxyTestBed(label: "h2")
        let p = try curl(bed, ["-o", bed.dir.file("out"), "-w", "%{http_version} %{http_code}",
                               "http://127.0.0.1:\(bed.proxy.port)/bytes?n=300000"])
        #expect(p.stdout == "2 200", "\(p.stdout) \(p.stderr)")
        let body = try Data(contentsOf: URL(fileURLWithPath: bed.dir.file("out")))
        #expect(Array(body) == UpstreamFixture.pattern(300000))
        let issued = try bed.tokens.issuedTokens()
        try #require(issued.count == 1)
        let req = try bed.upstream.lastRequest()
        #expect(req.path == "/bytes")
        #expect(req.version == "HTTP/1.1")
        #expect(req.headerValues("Authorization") == ["Bearer \(issued[0])"])
        // :authority is the Host; the stream's peer is the HTTP/2 connection's.
        #expect(req.header("X-Forwarded-Host") == "127.0.0.1:\(bed.proxy.port)")
        #expect(req.header("X-Forwarded-For") == "127.0.0.1")
        // HTTP/1.1 on the same port.
        #expect(try bed.get("/after").status == 200)
        let lines = try bed.proxy.waitForAccessLog(count: 2)
        #expect(lines.map { $0["protocol"] as? String } == ["HTTP/2", "HTTP/1.1"])
        #expect(lines.map { $0["path"] as? String } == ["/bytes", "/after"])
    }

    /// ALPN on the TLS listener: `curl --http2` agrees h2 and is served as HTTP/2 (token
    /// injected, X-Forwarded-Proto https); `--http1.1` on the same port agrees http/1.1.
    @Test func alpnH2OnTheTLSListener() throws {
        let pki = try TestPKI.get()
        let tlsPort = try FreePort.pick()
        let server = pki.pair("server")
        var adminPort: UInt16 = 0
        let bed = try ProxyTestBed(label: "h2tls") { c, up, tok in
            adminPort = try c.enableAdmin()
            c.server["tls_listen"] = TestConfig.quote("127.0.0.1:\(tlsPort)")
            c.server["tls_cert_file"] = TestConfig.quote(server.cert)
            c.server["tls_key_file"] = TestConfig.quote(server.key)
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(name: "main", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        func curl(_ version: String, _ path: String) throws -> String {
            let p = try ChildProcess(
                name: "curl\(version)", executable: "/usr/bin/curl",
                arguments: ["-sS", version, "--cacert", pki.caFile, "-o", bed.dir.file("out\(version)"),
                            "-w", "%{http_version} %{http_code}", "https://localhost:\(tlsPort)\(path)"],
                in: bed.dir)
            #expect(p.waitForExit(timeout: 30) == 0, "\(p.stderr)")
            return p.stdout
        }
        #expect(try curl("--http2", "/bytes?n=200000") == "2 200")
        let body = try Data(contentsOf: URL(fileURLWithPath: bed.dir.file("out--http2")))
        #expect(Array(body) == UpstreamFixture.pattern(200000))
        let issued = try bed.tokens.issuedTokens()
        try #require(issued.count == 1)
        let req = try bed.upstream.lastRequest()
        #expect(req.path == "/bytes")
        #expect(req.headerValues("Authorization") == ["Bearer \(issued[0])"])
        #expect(req.header("X-Forwarded-Proto") == "https")
        #expect(try curl("--http1.1", "/plain") == "1.1 200")
        #expect(try bed.upstream.lastRequest().header("X-Forwarded-Proto") == "https")
        let lines = try bed.proxy.waitForAccessLog(count: 2)
        #expect(lines.map { $0["protocol"] as? String } == ["HTTP/2", "HTTP/1.1"])
        // Counted under their protocol (DESIGN.md §7).
        let m = try AdminClient(port: adminPort).metrics()
        #expect(m[#"m2m_requests_total{route="main",code="200",protocol="h2"}"#] == 1)
        #expect(m[#"m2m_requests_total{route="main",code="200",protocol="http/1.1"}"#] == 1)
    }

    @Test func uploadsAndManyStreamsOnOneConnection() throws {
        let bed = try ProxyTestBed(label: "h2up")
        let bodyPath = try bed.dir.write("body.txt", String(repeating: "0123456789abcdef", count: 65536))
        let out = bed.dir.file("echo.out")
        _ = try curl(bed, ["--data-binary", "@\(bodyPath)", "-o", out, "http://127.0.0.1:\(bed.proxy.port)/echo"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: bodyPath)))
        // Several streams multiplexed on one connection; a 404 for an unrouted stream does not
        // disturb the others.
        var args: [String] = ["-w", "%{http_code}|"]
        for i in 0..<8 { args += ["-o", "/dev/null", "http://127.0.0.1:\(bed.proxy.port)/n\(i)"] }
        let p = try curl(bed, ["--parallel", "--parallel-immediate"] + args)
        #expect(p.stdout == String(repeating: "200|", count: 8), "\(p.stdout)")
    }

    /// The proxy's own errors to a gRPC client are gRPC statuses in a trailers-only response
    /// (DESIGN.md §7), with the JSON error's message as grpc-message.
    @Test func proxyErrorsToGRPCClientsAreGRPCStatuses() throws {
        let bed = try ProxyTestBed(tokenMode: TokenMode(status: 500), label: "h2grpc") { c, up, tok in
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(pathPrefix: "/svc.Service", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        func call(_ path: String) throws -> String {
            let p = try curl(bed, ["-i", "-H", "content-type: application/grpc", "-H", "te: trailers",
                                   "--data-binary", "", "http://127.0.0.1:\(bed.proxy.port)\(path)"])
            return p.stdout.lowercased()
        }
        let noRoute = try call("/other.Service/Method")
        #expect(noRoute.contains("http/2 200"), "\(noRoute)")
        #expect(noRoute.contains("content-type: application/grpc"), "\(noRoute)")
        #expect(noRoute.contains("grpc-status: 12\r\n"), "\(noRoute)")
        #expect(noRoute.contains("grpc-message: no route"), "\(noRoute)")
        let noToken = try call("/svc.Service/Method")
        #expect(noToken.contains("grpc-status: 14\r\n"), "\(noToken)")
        // Not gRPC: the JSON error as for HTTP/1.1.
        let plain = try curl(bed, ["-w", "%{http_code}", "-o", "/dev/null", "http://127.0.0.1:\(bed.proxy.port)/other"])
        #expect(plain.stdout == "404")
    }

    /// A body larger than the stream's window while the exchange cannot take it (its token is
    /// late): it waits in the stream's pipe, unacknowledged, and flows once the token is there;
    /// with and without content-length it reaches the upstream whole.
    @Test func uploadHeldByALateTokenArrivesWhole() throws {
        let bed = try ProxyTestBed(tokenMode: TokenMode(delayMs: 700), label: "h2late")
        let bodyPath = try bed.dir.write("body.bin", String(repeating: "0123456789abcdef", count: 16384))
        for (name, extra) in [("length", [String]()), ("chunked", ["-H", "transfer-encoding: chunked"])] {
            let out = bed.dir.file("\(name).out")
            _ = try curl(bed, ["--data-binary", "@\(bodyPath)", "-o", out, "-H", "x-case: \(name)"] + extra + ["http://127.0.0.1:\(bed.proxy.port)/echo"])
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: bodyPath)), "\(name)")
        }
        let seen = try bed.upstream.requests()
        #expect(seen.map(\.bodyLen) == [262144, 262144])
        #expect(seen.first { $0.header("x-case") == "length" }?.header("Content-Length") == "262144")
        #expect(seen.first { $0.header("x-case") == "chunked" }?.header("Transfer-Encoding") == "chunked")
    }

    /// A gRPC call whose head is over max_header_bytes gets RESOURCE_EXHAUSTED (8), logged and
    /// counted as the HTTP/1.1 431 `header_too_large`.
    @Test func oversizedGRPCHeadIsResourceExhausted() throws {
        let bed = try ProxyTestBed(limits: ["max_header_bytes": 4096], label: "h2grpc431")
        let p = try curl(bed, ["-i", "-X", "POST", "-H", "content-type: application/grpc", "-H", "te: trailers",
                               "-H", "x-big: \(String(repeating: "g", count: 5000))",
                               "http://127.0.0.1:\(bed.proxy.port)/svc.S/M"])
        let out = p.stdout.lowercased()
        #expect(out.contains("http/2 200") && out.contains("grpc-status: 8\r\n"), "\(out)")
        let line = try #require(try bed.proxy.waitForAccessLog(count: 1).first)
        #expect(line["status"] as? Int == 431 && line["error"] as? String == "header_too_large")
        #expect(try bed.upstream.requests().isEmpty)
    }

    /// RST_STREAM mid-call ends the exchange behind the stream as a client gone would (§4):
    /// logged as aborted at once, its upstream connection dropped.
    @Test func streamResetEndsTheExchange() throws {
        let bed = try ProxyTestBed(label: "h2rst")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        try c.request(stream: 1, path: "/hang")
        try Wait.until("the upstream got /hang", timeout: 10) { (try? bed.upstream.requests().count) == 1 }
        try c.send(type: H2RawClient.Kind.rstStream, stream: 1, payload: H2RawClient.be(H2RawClient.Code.cancel, 4))
        let line = try #require(try bed.proxy.waitForAccessLog(count: 1).first)
        #expect(line["path"] as? String == "/hang")
        #expect(line["error"] as? String == "aborted")
        #expect(line["protocol"] as? String == "HTTP/2")
    }

    /// Request trailers (a HEADERS frame after DATA, RFC 9113 §8.1) reach the upstream as
    /// HTTP/1.1 chunked trailers; with `content-length` the body is not chunked toward the
    /// upstream and HTTP/1.1 cannot carry them, so they are dropped; a trailer the proxy would
    /// refuse from an HTTP/1.1 client (Authorization) is refused here too (400).
    @Test func requestTrailersAreCarriedAsChunkedTrailers() throws {
        let bed = try ProxyTestBed(label: "h2trl")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        let trailerFlags: UInt8 = 5  // END_STREAM | END_HEADERS
        try c.request(stream: 1, method: "POST", path: "/echo", fields: [("x-case", "chunked")], endStream: false)
        try c.send(type: H2RawClient.Kind.data, stream: 1, payload: Array("hello".utf8))
        try c.send(type: H2RawClient.Kind.headers, flags: trailerFlags, stream: 1,
                   payload: H2RawClient.literal(name: "x-checksum", value: "5d41402a"))
        try c.request(stream: 3, method: "POST", path: "/echo", fields: [("x-case", "length"), ("content-length", "5")], endStream: false)
        try c.send(type: H2RawClient.Kind.data, stream: 3, payload: Array("hello".utf8))
        try c.send(type: H2RawClient.Kind.headers, flags: trailerFlags, stream: 3,
                   payload: H2RawClient.literal(name: "x-checksum", value: "dropped"))
        try c.request(stream: 5, method: "POST", path: "/echo", fields: [("x-case", "forbidden")], endStream: false)
        try c.send(type: H2RawClient.Kind.data, stream: 5, payload: Array("hello".utf8))
        try c.send(type: H2RawClient.Kind.headers, flags: trailerFlags, stream: 5,
                   payload: H2RawClient.literal(name: "authorization", value: "Bearer smuggled"))
        var ended = Set<UInt32>()
        _ = try c.read(until: { f in
            if f.endStream || f.type == H2RawClient.Kind.rstStream { ended.insert(f.stream) }
            return ended.count == 3
        })
        #expect(ended == [1, 3, 5])
        let seen = try bed.upstream.requests()
        let chunked = try #require(seen.first { $0.header("x-case") == "chunked" })
        #expect(chunked.bodyLen == 5)
        #expect(chunked.trailers ?? [] == [["x-checksum", "5d41402a"]])
        let length = try #require(seen.first { $0.header("x-case") == "length" })
        #expect(length.bodyLen == 5)
        #expect(length.trailers == nil)
        #expect(!seen.contains { $0.header("x-case") == "forbidden" && $0.trailers != nil })
        #expect(!seen.contains { ($0.trailers ?? []).contains { $0.last?.contains("smuggled") == true } })
        let lines = try bed.proxy.waitForAccessLog(count: 3)
        #expect(lines.map { $0["status"] as? Int ?? 0 }.sorted() == [200, 200, 400])
    }

    /// `grpc-timeout` shorter than the route's response_timeout_ms is the response deadline,
    /// answered as DEADLINE_EXCEEDED without blaming the upstream; a longer one leaves the
    /// route's deadline in force (DESIGN.md §7). The upstream is an h2c server that never
    /// answers (gRPC needs HTTP/2 on both sides; a grpcio server would enforce the deadline
    /// itself and race the proxy's answer).
    @Test func grpcTimeoutIsTheResponseDeadlineWhenShorter() throws {
        var adminPort: UInt16 = 0
        let silent = try ScriptFixture("h2_silent_upstream.py", label: "h2silent")
        let bed = try ProxyTestBed(label: "h2dl") { c, _, tok in
            adminPort = try c.enableAdmin()
            c.limits = ["response_timeout_ms": 3000]
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(name: "svc", upstream: "h2c://127.0.0.1:\(silent.port)", credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        func call(_ timeout: String) throws -> (String, Double) {
            let t0 = Date()
            let p = try curl(bed, ["-i", "-H", "content-type: application/grpc", "-H", "te: trailers",
                                   "-H", "grpc-timeout: \(timeout)", "--data-binary", "",
                                   "http://127.0.0.1:\(bed.proxy.port)/hang"])
            return (p.stdout.lowercased(), Date().timeIntervalSince(t0))
        }
        let (short, shortSeconds) = try call("200m")
        #expect(short.contains("grpc-status: 4\r\n"), "\(short)")
        #expect(short.contains("grpc-message: upstream did not start its response within the client's grpc-timeout of 200 ms"), "\(short)")
        #expect(shortSeconds < 2.5, "answered after \(shortSeconds) s")
        let (long, longSeconds) = try call("1M")
        #expect(long.contains("grpc-status: 4\r\n"), "\(long)")
        #expect(long.contains("within 3000 ms"), "\(long)")
        #expect(longSeconds >= 2.9)
        // Both calls reached the upstream as streams, and only the route's own deadline counts
        // against the upstream.
        #expect(try silent.records().filter { $0["event"] as? String == "headers" }.count == 2)
        let lines = try bed.proxy.waitForAccessLog(count: 2)
        #expect(lines.map { $0["error"] as? String } == ["upstream_timeout", "upstream_timeout"])
        #expect(lines.map { $0["upstream_error"] as? String } == [nil, "response_timeout"])
        let m = try AdminClient(port: adminPort).metrics()
        #expect(m[#"m2m_upstream_errors_total{route="svc",kind="response_timeout"}"#] == 1)
    }

    @Test func prefaceNotFollowedBySettingsIsAProtocolError() throws {
        let bed = try ProxyTestBed(label: "h2bad")
        let c = try H2RawClient(port: bed.proxy.port)
        // RFC 9113 §3.4: the preface must be followed by SETTINGS; a PING instead is a
        // connection error PROTOCOL_ERROR (nghttp2's check, asserted here).
        try c.send(H2RawClient.preface + H2RawClient.frame(type: H2RawClient.Kind.ping, payload: [UInt8](repeating: 0, count: 8)))
        #expect(try c.goAwayCode() == H2RawClient.Code.protocolError)
    }

    @Test func frameOverMaxFrameSizeIsAFrameSizeError() throws {
        let bed = try ProxyTestBed(label: "h2big")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        try c.request(stream: 1, method: "POST", path: "/", endStream: false)
        // RFC 9113 §4.2: larger than SETTINGS_MAX_FRAME_SIZE (16384) → FRAME_SIZE_ERROR.
        try c.send(type: H2RawClient.Kind.data, stream: 1, payload: [UInt8](repeating: 0, count: 16385))
        #expect(try c.goAwayCode() == H2RawClient.Code.frameSize)
    }
}
