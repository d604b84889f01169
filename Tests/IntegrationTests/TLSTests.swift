import Foundation
import Testing

/// TLS end to end with real parts only: certificates made by the openssl CLI
/// (`Tests/Fixtures/make_tls_certs.sh`), HTTPS upstreams and token endpoint in Python `ssl`,
/// curl as the client of the TLS listener (DESIGN.md §3 `tls_*`, §4 502 on TLS failure).
@Suite(.serialized) struct TLSTests {
    /// One HTTPS upstream (certificate `certName`) and a proxy with one route to it.
    final class Bed {
        let dir: TempDir
        let pki: TestPKI
        let upstream: UpstreamFixture
        let tokens: TokenDouble
        let proxy: ProxyProcess

        init(
            cert certName: String = "server", clientCA: Bool = false, tokensOverTLS: Bool = false,
            _ configure: (inout TestConfig, UpstreamFixture, TokenDouble, TestPKI) throws -> Void
        ) throws {
            pki = try TestPKI.get()
            dir = try TempDir("tls")
            upstream = try UpstreamFixture(in: dir, tls: pki.pair(certName), clientCA: clientCA ? pki.caFile : nil)
            tokens = try TokenDouble(in: dir, tls: tokensOverTLS ? pki.pair("server") : nil)
            var config = TestConfig(listenPort: try FreePort.pick())
            try configure(&config, upstream, tokens, pki)
            proxy = try ProxyProcess(config: config, in: dir)
        }

        convenience init(cert: String = "server", clientCA: Bool = false, routeTLS: [String: String]) throws {
            try self.init(cert: cert, clientCA: clientCA) { c, up, _, _ in
                c.routes = [.init(name: "tls", upstream: up.url, extra: routeTLS)]
            }
        }

        func get(_ path: String) throws -> HTTPResponse {
            let c = try proxy.connect()
            try c.send("GET \(path) HTTP/1.1\r\nHost: client.test\r\nConnection: close\r\n\r\n")
            return try c.readResponse()
        }

        /// The upstream's log lines that are requests (handshake failures are lines too).
        func upstreamRequests() throws -> [[String: Any]] {
            guard let text = try? String(contentsOfFile: upstream.logPath, encoding: .utf8) else { return [] }
            return try text.split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }.filter { $0["method"] != nil }
        }
    }

    static func quoted(_ s: String) -> String { TestConfig.quote(s) }

    static func caKeys(_ pki: TestPKI) -> [String: String] { ["tls_ca_file": quoted(pki.caFile)] }

    static func message(_ r: HTTPResponse) -> String { (r.json?["message"] as? String) ?? r.bodyText }

    @Test func goodChainWithCAFile() throws {
        let pki = try TestPKI.get()
        let bed = try Bed(routeTLS: Self.caKeys(pki))
        let r = try bed.get("/hello")
        #expect(r.status == 200, "\(r.status) \(r.bodyText)")
        let seen = try #require(try bed.upstreamRequests().last)
        let tls = try #require(seen["tls"] as? [String: Any])
        #expect(tls["alpn"] as? String == "http/1.1")
        #expect(tls["sni"] as? String == "localhost")
        #expect(["TLSv1.2", "TLSv1.3"].contains(tls["version"] as? String ?? ""))
        let headers = seen["headers"] as? [[String]] ?? []
        #expect(headers.contains(["X-Forwarded-Proto", "http"]))
        #expect(headers.contains(["Host", "localhost:\(bed.upstream.port)"]))
    }

    @Test func unknownCAIs502WithReason() throws {
        let bed = try Bed(cert: "unknown", routeTLS: Self.caKeys(try TestPKI.get()))
        let r = try bed.get("/x")
        #expect(r.status == 502)
        #expect(r.json?["error"] as? String == "upstream_unavailable")
        #expect(Self.message(r) == "TLS handshake with upstream failed: certificate verify failed: unable to get local issuer certificate")
        #expect(try bed.upstreamRequests().isEmpty)
    }

    @Test func withoutCAFileTheSystemStoreDoesNotTrustTheTestCA() throws {
        let bed = try Bed(routeTLS: [:])
        let r = try bed.get("/x")
        #expect(r.status == 502)
        #expect(Self.message(r).hasPrefix("TLS handshake with upstream failed: certificate verify failed: "), "\(Self.message(r))")
    }

    @Test func hostnameMismatchIs502() throws {
        let bed = try Bed(cert: "wrong", routeTLS: Self.caKeys(try TestPKI.get()))
        let r = try bed.get("/x")
        #expect(r.status == 502)
        #expect(Self.message(r) == "TLS handshake with upstream failed: certificate verify failed: hostname mismatch")
    }

    @Test func ipAddressIsCheckedAgainstIPSANs() throws {
        let pki = try TestPKI.get()
        // server.pem has IP:127.0.0.1; wrong.pem has none.
        let good = try Bed { c, up, _, pki in
            c.routes = [.init(upstream: "https://127.0.0.1:\(up.port)", extra: Self.caKeys(pki))]
        }
        #expect(try good.get("/x").status == 200)
        // No SNI for an IP literal (RFC 6066 §3).
        let seen = try #require(try good.upstreamRequests().last)
        #expect((seen["tls"] as? [String: Any])?["sni"] is NSNull)
        let bad = try Bed(cert: "wrong") { c, up, _, pki in
            c.routes = [.init(upstream: "https://127.0.0.1:\(up.port)", extra: Self.caKeys(pki))]
        }
        let r = try bad.get("/x")
        #expect(r.status == 502)
        #expect(Self.message(r) == "TLS handshake with upstream failed: certificate verify failed: IP address mismatch")
        _ = pki
    }

    @Test func expiredCertificateIs502() throws {
        let bed = try Bed(cert: "expired", routeTLS: Self.caKeys(try TestPKI.get()))
        let r = try bed.get("/x")
        #expect(r.status == 502)
        #expect(Self.message(r) == "TLS handshake with upstream failed: certificate verify failed: certificate has expired")
    }

    @Test func insecureSkipVerifyConnectsAndCheckWarns() throws {
        let bed = try Bed(cert: "unknown", routeTLS: ["tls_insecure_skip_verify": "true"])
        #expect(try bed.get("/x").status == 200)
        let check = try ProxyProcess.runToExit(["check", "--config", bed.proxy.configPath], in: bed.dir)
        #expect(check.status == 0)
        #expect((check.stdout + check.stderr).contains("route \"tls\" (route[0]).tls_insecure_skip_verify: certificates and host names are not verified"),
                "\(check.stdout) \(check.stderr)")
    }

    @Test func mutualTLSWithAndWithoutClientCertificate() throws {
        let pki = try TestPKI.get()
        let client = pki.pair("client")
        let bed = try Bed(clientCA: true) { c, up, _, pki in
            c.routes = [
                .init(name: "with", pathPrefix: "/with", upstream: up.url, extra: Self.caKeys(pki).merging(
                    ["tls_cert_file": Self.quoted(client.cert), "tls_key_file": Self.quoted(client.key)]) { $1 }),
                .init(name: "without", pathPrefix: "/without", upstream: up.url, extra: Self.caKeys(pki)),
            ]
        }
        let ok = try bed.get("/with/x")
        #expect(ok.status == 200, "\(ok.bodyText)")
        let seen = try #require(try bed.upstreamRequests().last)
        #expect((seen["tls"] as? [String: Any])?["client_cn"] as? String == "m2m-proxy-client")
        let refused = try bed.get("/without/x")
        #expect(refused.status == 502)
        #expect(refused.json?["error"] as? String == "upstream_unavailable")
        // TLS 1.3: the server's refusal arrives as an alert after the client's handshake is
        // done, or (when our request crosses it) as a reset that loses the alert.
        let why = Self.message(refused)
        #expect(why == "TLS with upstream failed: tlsv13 alert certificate required"
            || why.hasPrefix("TLS with upstream failed: the server requested a client certificate and none is configured"), "\(why)")
    }

    @Test func tokenEndpointOverTLS() throws {
        let bed = try Bed(tokensOverTLS: true) { c, up, tok, pki in
            c.credentials = [
                .init(name: "good", tokenURL: tok.tlsTokenURL, clientID: "a", clientSecret: "s", extra: Self.caKeys(pki)),
                .init(name: "untrusted", tokenURL: tok.tlsTokenURL, clientID: "a", clientSecret: "s"),
            ]
            c.routes = [
                .init(name: "bad", pathPrefix: "/bad", upstream: up.url, credential: "untrusted", extra: Self.caKeys(pki)),
                .init(name: "good", upstream: up.url, credential: "good", extra: Self.caKeys(pki)),
            ]
        }
        let ok = try bed.get("/x")
        #expect(ok.status == 200, "\(ok.bodyText)")
        let seen = try #require(try bed.upstreamRequests().last)
        let auth = (seen["headers"] as? [[String]] ?? []).first { $0.first == "Authorization" }?.last ?? ""
        #expect(auth.hasPrefix("Bearer "))
        #expect(try bed.tokens.tokenRequestCount() == 1)

        let failed = try bed.get("/bad/x")
        #expect(failed.status == 503)
        #expect(failed.json?["error"] as? String == "token_unavailable")
        #expect(Self.message(failed).contains("TLS handshake with the token endpoint failed: certificate verify failed"), "\(Self.message(failed))")
        try Wait.until("the token failure in the proxy log") {
            bed.proxy.output.contains("TLS handshake with the token endpoint failed: certificate verify failed")
        }
        #expect(!bed.proxy.output.contains("\"s\""))
    }

    @Test func keepAliveReuseAndSessionResumption() throws {
        let bed = try Bed(routeTLS: Self.caKeys(try TestPKI.get()))
        let c = try bed.proxy.connect()
        for i in 0..<20 {
            try c.send("GET /r\(i) HTTP/1.1\r\nHost: client.test\r\n\r\n")
            #expect(try c.readResponse().status == 200)
        }
        var seen = try bed.upstreamRequests()
        #expect(seen.count == 20)
        #expect(Set(seen.map { $0["conn_id"] as! Int }).count == 1, "20 sequential requests must share one TLS connection")
        #expect((seen[0]["tls"] as? [String: Any])?["resumed"] as? Bool == false)

        // The upstream closes the connection after this (close-delimited) answer; the next
        // request needs a new upstream connection, which resumes the session the pool kept.
        try c.send("GET /bytes?n=10&close=1 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        #expect(try c.readResponse().status == 200)
        #expect(try bed.get("/after").status == 200)
        seen = try bed.upstreamRequests()
        let last = try #require(seen.last)
        #expect(last["path"] as? String == "/after")
        #expect(Set(seen.map { $0["conn_id"] as! Int }).count == 2)
        #expect((last["tls"] as? [String: Any])?["resumed"] as? Bool == true)
    }

    @Test func routesWithDifferentTLSSettingsDoNotShareConnections() throws {
        // Same upstream host and port, different trust: a connection verified with one route's
        // settings must never carry the other route's requests.
        let bed = try Bed { c, up, _, pki in
            c.routes = [
                .init(name: "ca", pathPrefix: "/ca", upstream: up.url, extra: Self.caKeys(pki)),
                .init(name: "insecure", pathPrefix: "/insecure", upstream: up.url, extra: ["tls_insecure_skip_verify": "true"]),
                .init(name: "ca-again", pathPrefix: "/again", upstream: up.url, extra: Self.caKeys(pki)),
            ]
        }
        let c = try bed.proxy.connect()
        for path in ["/ca/1", "/insecure/1", "/again/1", "/ca/2", "/insecure/2", "/again/2"] {
            try c.send("GET \(path) HTTP/1.1\r\nHost: client.test\r\n\r\n")
            #expect(try c.readResponse().status == 200)
        }
        let seen = try bed.upstreamRequests()
        func conns(_ prefix: String) -> Set<Int> {
            Set(seen.filter { ($0["path"] as? String ?? "").hasPrefix(prefix) }.map { $0["conn_id"] as! Int })
        }
        #expect(conns("/insecure").count == 1)
        #expect(conns("/ca").union(conns("/again")).count == 1, "equal settings share one pool")
        #expect(conns("/insecure").isDisjoint(with: conns("/ca")))
    }

    @Test func reloadRebuildsTheTLSContextFromReplacedFiles() throws {
        // The CA file first holds a CA that did not sign the upstream's certificate; replaced by
        // the right one (same path, same config) a SIGHUP must make the route work.
        let pki = try TestPKI.get()
        let dir = try TempDir("tls-reload")
        let caPath = dir.file("trust.pem")
        try FileManager.default.copyItem(atPath: pki.file("otherca.pem"), toPath: caPath)
        let bed = try Bed { c, up, _, _ in
            c.routes = [.init(upstream: up.url, extra: ["tls_ca_file": Self.quoted(caPath)])]
        }
        #expect(try bed.get("/before").status == 502)
        try FileManager.default.removeItem(atPath: caPath)
        try FileManager.default.copyItem(atPath: pki.caFile, toPath: caPath)
        let before = bed.proxy.output.components(separatedBy: "configuration reloaded").count
        bed.proxy.process.signal(SIGHUP)
        try Wait.until("the reload in the proxy's log") {
            bed.proxy.output.components(separatedBy: "configuration reloaded").count > before
        }
        let r = try bed.get("/after")
        #expect(r.status == 200, "\(r.bodyText)")
    }

    @Test func fiveMegabytesBothWaysIntact() throws {
        let bed = try Bed(routeTLS: Self.caKeys(try TestPKI.get()))
        let n = 5_000_000
        let c = try bed.proxy.connect(timeout: 30)
        try c.send("GET /bytes?n=\(n) HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let down = try c.readResponse()
        #expect(down.status == 200)
        #expect(down.body.count == n)
        #expect(down.body == UpstreamFixture.pattern(n))

        var body = [UInt8](repeating: 0, count: n)
        var x: UInt32 = 12345
        for i in 0..<n {
            x = x &* 1_103_515_245 &+ 12345
            body[i] = UInt8(truncatingIfNeeded: x >> 16)
        }
        try c.send(Array("POST /echo HTTP/1.1\r\nHost: client.test\r\nContent-Length: \(n)\r\n\r\n".utf8) + body, timeout: 30)
        let up = try c.readResponse(timeout: 30)
        #expect(up.status == 200)
        #expect(up.body.count == n)
        #expect(up.body == body)
        let seen = try #require(try bed.upstreamRequests().last)
        #expect(seen["body_len"] as? Int == n)
    }

    @Test func slowClientBackpressureOverTLSUpstream() throws {
        // The client reads 1 MiB, then nothing for 1.5 s with a 16 KiB receive buffer: the proxy
        // stops reading the TLS upstream mid-read, and the decrypted bytes it held back must
        // still arrive, in order, once the client reads again, with the proxy's memory bounded.
        let bed = try Bed(routeTLS: Self.caKeys(try TestPKI.get()))
        let size = 64 << 20
        let c = try RawHTTPConnection(port: bed.proxy.port, timeout: 30, receiveBufferBytes: 16 << 10)
        try c.send("GET /bytes?n=\(size) HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let head = try c.readInterimHead()
        #expect(head.status == 200)
        var checker = PatternStream.Checker()
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { piece.deallocate() }
        func read(upTo limit: Int) throws { try c.readPattern(into: &checker, upTo: limit, piece: piece) }
        try read(upTo: 1 << 20)
        var peak = 0
        let pauseEnd = Date().addingTimeInterval(1.5)
        while Date() < pauseEnd {
            peak = max(peak, try bed.proxy.residentBytes())
            usleep(50_000)
        }
        try read(upTo: size)
        #expect(peak < Sanitizers.rssBound(64 << 20), "proxy RSS reached \(peak >> 20) MiB while the client paused")
        #expect(checker.count == size, "received \(checker.count) of \(size) bytes")
        #expect(checker.firstMismatch == nil, "body differs from the pattern at offset \(checker.firstMismatch ?? -1)")
    }

    @Test func inboundTLSListener() throws {
        let pki = try TestPKI.get()
        let tlsPort = try FreePort.pick()
        let server = pki.pair("server")
        let bed = try Bed { c, up, _, pki in
            c.server["tls_listen"] = Self.quoted("127.0.0.1:\(tlsPort)")
            c.server["tls_cert_file"] = Self.quoted(server.cert)
            c.server["tls_key_file"] = Self.quoted(server.key)
            c.routes = [.init(upstream: up.url, extra: Self.caKeys(pki))]
        }
        let out = bed.dir.file("curl.out")
        let curl = try ChildProcess(
            name: "curl", executable: "/usr/bin/curl",
            arguments: ["-sS", "--cacert", pki.caFile, "-o", out, "-o", out, "-w", "%{http_code} %{ssl_verify_result}|",
                        "https://localhost:\(tlsPort)/over-tls", "https://localhost:\(tlsPort)/again"],
            in: bed.dir)
        #expect(curl.waitForExit(timeout: 20) == 0, "\(curl.stderr)")
        #expect(curl.stdout == "200 0|200 0|", "\(curl.stdout) \(curl.stderr)")
        let seen = try bed.upstreamRequests()
        #expect(seen.map { $0["path"] as? String } == ["/over-tls", "/again"])
        for s in seen {
            #expect((s["headers"] as? [[String]] ?? []).contains(["X-Forwarded-Proto", "https"]))
        }
        // A 1 MB upload and its echo over the TLS listener.
        let bodyPath = try bed.dir.write("body.txt", String(repeating: "0123456789abcdef", count: 65536))
        let echo = try ChildProcess(
            name: "curl-echo", executable: "/usr/bin/curl",
            arguments: ["-sS", "--cacert", pki.caFile, "--data-binary", "@\(bodyPath)", "-o", bed.dir.file("echo.out"),
                        "https://localhost:\(tlsPort)/echo"],
            in: bed.dir)
        #expect(echo.waitForExit(timeout: 20) == 0, "\(echo.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: bed.dir.file("echo.out"))) == Data(contentsOf: URL(fileURLWithPath: bodyPath)))
    }
}
