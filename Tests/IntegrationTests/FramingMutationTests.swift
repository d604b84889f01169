import Foundation
import Testing

/// DESIGN.md §4: header names with `_` (`server.headers_with_underscores`), framing-header
/// mutations behind a lenient upstream, and refusals in words.
@Suite struct FramingMutationTests {
    /// The smuggling body: to an upstream that frames by Transfer-Encoding, it ends after "0" and
    /// a second request (`/smuggled`) follows; by Content-Length it is one opaque body.
    static let smuggle = "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

    /// The families defparam/smuggler and PortSwigger's http-request-smuggler mutate: each is a
    /// header line (or lines) added to a POST with a Content-Length covering `smuggle`.
    static let mutations: [String] = [
        "Transfer_Encoding: chunked", "transfer_encoding: chunked", "TRANSFER_ENCODING: chunked",
        "Transfer-Encoding: chunked", "Transfer-Encoding:chunked", "Transfer-Encoding:\tchunked",
        "Transfer-Encoding: \tchunked", "Transfer-Encoding: chunked\t", "Transfer-Encoding : chunked",
        "Transfer-Encoding\t: chunked", " Transfer-Encoding: chunked", "\tTransfer-Encoding: chunked",
        "X: y\r\n Transfer-Encoding: chunked", "Transfer-Encoding:\r\n chunked", "Transfer-Encoding: xchunked",
        "Transfer-Encoding: chunkedx", "Transfer-Encoding: chunked, identity", "Transfer-Encoding: identity, chunked",
        "Transfer-Encoding: \"chunked\"", "Transfer-Encoding: chunk", "Transfer-Encoding: cHuNkEd",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: x", "Transfer-Encoding: x\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked\r\nTransfer_Encoding: chunked", "Transfer-Encoding\u{0B}: chunked",
        "Transfer-Encoding: \u{0B}chunked", "Transfer-Encoding:\u{0C}chunked", "Transfer-Encoding: chunked\r\n",
        "Content_Length: 0", "Content_Length: 5", "content_length: 0", "Content-Length: 0",
        "Content-Length:  \(smuggle.utf8.count)", "Content-Length: +\(smuggle.utf8.count)",
        "Content-Length: \(smuggle.utf8.count), \(smuggle.utf8.count)", "Host_: x", "Host: x", "host_: x",
        "Connection: Transfer-Encoding", "Connection: Content-Length", "Connection_: close",
        "X_Forwarded_Host: evil", "Transfer-Encoding_: chunked", "_Transfer-Encoding: chunked",
    ]

    @Test func noMutationReachesALenientUpstreamAsASecondFraming() throws {
        for policy in ["drop", "allow", "reject"] {
            let (bed, fixture, _) = try PhaseTimeoutTests.bed(label: "mut-\(policy)")
            var forwarded = 0
            for (i, m) in Self.mutations.enumerated() {
                let c = try bed.connect()
                try c.send("POST /m\(i) HTTP/1.1\r\nHost: client.test\r\n\(m)\r\nContent-Length: \(Self.smuggle.utf8.count)\r\nConnection: close\r\n\r\n\(Self.smuggle)")
                guard let r = try? c.readResponse(timeout: 10) else {
                    Issue.record("[\(policy)] no answer to mutation \(i) \(m.debugDescription)")
                    continue
                }
                if r.status == 200 { forwarded += 1 } else {
                    #expect(r.status == 400, "[\(policy)] mutation \(i) \(m.debugDescription): \(r.summary)")
                    #expect(r.errorMessage?.contains("HPE_") == false || r.errorMessage?.contains(" ") == true)
                }
            }
            let records = try fixture.records()
            #expect(!records.contains { ($0["target"] as? String)?.hasPrefix("/smuggled") == true }, "[\(policy)] a smuggled request reached the upstream")
            for r in records {
                let framing = r["framing"] as? [String] ?? []
                #expect(framing.count == 1, "[\(policy)] \(r["target"] ?? "?") saw framing \(framing): \(r["head"] ?? "")")
            }
            #expect(records.count == forwarded)
            #expect(forwarded > 0)
        }
    }

    private func underscoreBed(_ policy: String?, label: String) throws -> (ProxyTestBed, ScriptFixture) {
        var fixture: ScriptFixture?
        let bed = try ProxyTestBed(label: label) { c, _, _ in
            let f = try ScriptFixture("lenient_upstream.py", label: "\(label)-up")
            fixture = f
            if let policy { c.server["headers_with_underscores"] = TestConfig.quote(policy) }
            c.routes = [.init(name: "main", upstream: f.url)]
        }
        return (bed, fixture!)
    }

    private func rawHead(_ fixture: ScriptFixture) throws -> String {
        try #require(try fixture.records().last?["head"] as? String)
    }

    @Test func underscoreHeadersAreDroppedByDefault() throws {
        let (bed, fixture) = try underscoreBed(nil, label: "us-drop")
        #expect(try bed.get("/a", extraHeaders: "X_Custom: 1\r\nX-Dashed: 2\r\n").status == 200)
        let head = try rawHead(fixture)
        #expect(!head.contains("X_Custom"))
        #expect(head.contains("X-Dashed: 2"))
    }

    @Test func underscoreHeadersRejectedWithReject() throws {
        let (bed, fixture) = try underscoreBed("reject", label: "us-reject")
        let r = try bed.get("/a", extraHeaders: "X_Custom: 1\r\n")
        ErrorTableTests.expectProxyError(r, 400, "bad_request")
        #expect(r.errorMessage?.contains("headers_with_underscores") == true, "\(r.summary)")
        #expect(try fixture.records().isEmpty)
    }

    @Test func underscoreHeadersAllowedButNeverAFramingLookalike() throws {
        let (bed, fixture) = try underscoreBed("allow", label: "us-allow")
        let r = try bed.exchange("POST /a HTTP/1.1\r\nHost: client.test\r\nX_Custom: 1\r\nTransfer_Encoding: chunked\r\nContent_Length: 1\r\nConnection_: keep-alive\r\nHOST_: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        #expect(r.status == 200, "\(r.summary)")
        let head = try rawHead(fixture)
        #expect(head.contains("X_Custom: 1"))
        for name in ["Transfer_Encoding", "Content_Length"] { #expect(!head.contains(name), "\(name) forwarded: \(head)") }
    }

    /// RFC 9112 §7.1.1: BWS around `;` and `=` of a chunk extension is valid; the upstream
    /// gets the cleaned line. Whitespace elsewhere in a chunk line is still refused.
    @Test func chunkExtensionWithWhitespaceIsForwardedClean() throws {
        let (bed, fixture) = try underscoreBed(nil, label: "chunkbws")
        let r = try bed.exchange("POST /a HTTP/1.1\r\nHost: client.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5 ; q=a\r\nhello\r\n6\t;\tr = \"x y\"\r\n world\r\n0 ; end\r\n\r\n")
        #expect(r.status == 200, "\(r.summary)")
        let record = try #require(try fixture.records().last)
        #expect(record["body"] as? String == "hello world")
        #expect(record["chunk_lines"] as? [String] == ["5;q=a", "6;r=\"x y\"", "0;end"], "\(record)")
        let bad = try bed.exchange("POST /b HTTP/1.1\r\nHost: client.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5 5\r\nhello\r\n0\r\n\r\n")
        ErrorTableTests.expectProxyError(bad, 400, "bad_request")
        #expect(try fixture.records().count == 1)
    }

    @Test func connectIs405InWords() throws {
        let (bed, fixture) = try underscoreBed(nil, label: "connect")
        let r = try bed.exchange("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        ErrorTableTests.expectProxyError(r, 405, "method_not_allowed")
        #expect(r.errorMessage?.contains("tunnels are not supported") == true, "\(r.summary)")
        #expect(r.header("Allow") != nil)
        #expect(try fixture.records().isEmpty)
    }

    /// A connection that starts with the preface speaks HTTP/2 (HTTP2Tests); one that already
    /// spoke HTTP/1.1 cannot switch, and is told so in words, not with a parser code.
    @Test func http2PrefaceAfterHTTP1IsRefusedInWords() throws {
        let (bed, _) = try underscoreBed(nil, label: "h2pk")
        let c = try bed.connect()
        try c.send("GET /a HTTP/1.1\r\nHost: client.test\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        let rs = try c.readResponses(2)
        // The first answer is whatever this lenient upstream gives a bare GET; only the second matters.
        #expect(rs[0].status > 0)
        ErrorTableTests.expectProxyError(rs[1], 400, "bad_request")
        #expect(rs[1].errorMessage?.contains("HTTP/2") == true, "\(rs[1].summary)")
        #expect(rs[1].errorMessage?.contains("HPE_") == false, "\(rs[1].summary)")
    }

    @Test func absoluteFormAuthorityIsTheForwardedHost() throws {
        let (bed, fixture) = try underscoreBed(nil, label: "absxfh")
        #expect(try bed.exchange("GET http://abs.test:8080/x HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n").status == 200)
        let headers = try #require(try fixture.records().last?["headers"] as? [[String]])
        #expect(headers.first { $0[0] == "x-forwarded-host" }?[1] == "abs.test:8080", "\(headers)")
    }

    @Test func noKeepAliveUpstreamIsToldConnectionClose() throws {
        var fixture: ScriptFixture?
        let bed = try ProxyTestBed(label: "noka") { c, _, _ in
            let f = try ScriptFixture("lenient_upstream.py", label: "noka-up")
            fixture = f
            c.limits = ["upstream_idle_connections": 0]
            c.routes = [.init(name: "main", upstream: f.url)]
        }
        #expect(try bed.get("/a").status == 200)
        let headers = try #require(try fixture!.records().last?["headers"] as? [[String]])
        #expect(headers.first { $0[0] == "connection" }?[1] == "close", "\(headers)")
    }

    /// A 413 on a routed path is counted under its route; the access log names the client.
    @Test func routedRefusalCountedUnderItsRouteAndClientLogged() throws {
        let (bed, up, admin) = try PhaseTimeoutTests.bed(limits: ["max_body_bytes": 10], label: "r413") { url in
            [.init(name: "api", pathPrefix: "/api", upstream: url)]
        }
        let r = try bed.exchange("POST /api/x HTTP/1.1\r\nHost: client.test\r\nContent-Length: 100\r\nConnection: close\r\n\r\n")
        ErrorTableTests.expectProxyError(r, 413, "body_too_large")
        #expect(try admin.metrics()["m2m_requests_total{route=\"api\",code=\"413\",protocol=\"http/1.1\"}"] == 1)
        let line = try #require(try bed.proxy.waitForAccessLog(count: 1).first)
        #expect(line["client"] as? String == "127.0.0.1")
        #expect(line["route"] as? String == "api")
        withExtendedLifetime(up) {}
    }
}
