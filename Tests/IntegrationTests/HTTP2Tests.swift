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

    /// RST_STREAM mid-call ends the exchange behind the stream as a client gone would (§4):
    /// logged as aborted at once, its upstream connection dropped.
    @Test func streamResetEndsTheExchange() throws {
        let bed = try ProxyTestBed(label: "h2rst")
        let c = try bed.connect()
        let authority = Array("127.0.0.1:\(bed.proxy.port)".utf8)
        let path = Array("/hang".utf8)
        // HPACK: :method GET, :path literal, :scheme http, :authority literal.
        let block: [UInt8] = [0x82, 0x04, UInt8(path.count)] + path + [0x86, 0x41, UInt8(authority.count)] + authority
        try c.send(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + Self.frame(type: 4, payload: [])
                   + Self.frame(type: 1, flags: 5, stream: 1, payload: block))
        try Wait.until("the upstream got /hang", timeout: 10) { (try? bed.upstream.requests().count) == 1 }
        try c.send(Self.frame(type: 3, stream: 1, payload: [0, 0, 0, 8]))  // CANCEL
        let line = try #require(try bed.proxy.waitForAccessLog(count: 1).first)
        #expect(line["path"] as? String == "/hang")
        #expect(line["error"] as? String == "aborted")
        #expect(line["protocol"] as? String == "HTTP/2")
    }

    @Test func prefaceNotFollowedBySettingsIsAProtocolError() throws {
        let bed = try ProxyTestBed(label: "h2bad")
        let c = try bed.connect()
        // RFC 9113 §3.4: the preface must be followed by SETTINGS; a PING instead is a
        // connection error PROTOCOL_ERROR (nghttp2's check, asserted here).
        try c.send(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + Self.frame(type: 6, payload: [UInt8](repeating: 0, count: 8)))
        let bytes = try c.readUntilClose()
        #expect(Self.goAwayCode(bytes) == 1, "\(bytes)")
    }

    @Test func frameOverMaxFrameSizeIsAFrameSizeError() throws {
        let bed = try ProxyTestBed(label: "h2big")
        let c = try bed.connect()
        let authority = Array("127.0.0.1:\(bed.proxy.port)".utf8)
        // HPACK from the static table: :method POST, :path /, :scheme http, :authority literal.
        let block: [UInt8] = [0x83, 0x84, 0x86, 0x41, UInt8(authority.count)] + authority
        try c.send(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + Self.frame(type: 4, payload: [])
                   + Self.frame(type: 1, flags: 4, stream: 1, payload: block)
                   + Self.frame(type: 0, stream: 1, payload: [UInt8](repeating: 0, count: 16385)))
        // RFC 9113 §4.2: larger than SETTINGS_MAX_FRAME_SIZE (16384) → FRAME_SIZE_ERROR (6).
        #expect(Self.goAwayCode(try c.readUntilClose()) == 6)
    }

    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    /// The error code of the first GOAWAY frame in `bytes` (RFC 9113 §6.8), nil if none.
    static func goAwayCode(_ bytes: [UInt8]) -> UInt32? {
        var i = 0
        while i + 9 <= bytes.count {
            let len = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            let type = bytes[i + 3]
            let payload = i + 9
            guard payload + len <= bytes.count else { return nil }
            if type == 7 && len >= 8 {
                return bytes[(payload + 4)..<(payload + 8)].reduce(0) { $0 << 8 | UInt32($1) }
            }
            i = payload + len
        }
        return nil
    }
}
