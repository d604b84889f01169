import Foundation
import Testing

/// The response of an HTTP/2 stream as its inner connection hands it to the stream's bridge
/// (fields, de-chunked payload, trailers, the proxy's own answers), seen by curl (nghttp2).
@Suite struct HTTP2ResponseTests {
    private func curl(_ bed: ProxyTestBed, _ args: [String]) throws -> ChildProcess {
        let p = try ChildProcess(
            name: "curl", executable: "/usr/bin/curl",
            arguments: ["-sS", "--http2-prior-knowledge"] + args, in: bed.dir)
        #expect(p.waitForExit(timeout: 30) == 0, "\(p.stderr)")
        return p
    }

    /// A chunked HTTP/1.1 response reaches the HTTP/2 client as its payload, with its chunked
    /// trailers as a trailing HEADERS (gRPC's status travels there), without the hop-by-hop
    /// and connection-specific fields.
    @Test func chunkedResponseTrailersReachTheClient() throws {
        let bed = try ProxyTestBed(label: "h2resptrl")
        let p = try curl(bed, ["-D", bed.dir.file("head"), "http://127.0.0.1:\(bed.proxy.port)/trailers"])
        #expect(p.stdout == "hello world")
        let head = try String(contentsOfFile: bed.dir.file("head"), encoding: .utf8).lowercased()
        #expect(head.hasPrefix("http/2 200"), "\(head)")
        #expect(head.contains("content-type: text/plain\r\n"), "\(head)")
        #expect(head.contains("x-checksum: 5eb63bbbe0\r\n"), "\(head)")
        #expect(head.contains("grpc-status: 0\r\n"), "\(head)")
        for dropped in ["transfer-encoding", "x-drop-me", "trailer:", "connection", "content-length"] {
            #expect(!head.contains(dropped), "\(dropped) in \(head)")
        }
        let line = try #require(try bed.proxy.waitForAccessLog(count: 1).first)
        #expect(line["status"] as? Int == 200)
        // bytes_out: the kept fields and the payload.
        #expect((line["bytes_out"] as? Int ?? 0) > 11, "\(line)")
    }

    /// Streams one after the other on one connection (the second one reuses the first one's
    /// pair and upstream connection): each gets HEADERS, its de-chunked DATA and its trailers
    /// as a HEADERS frame that ends the stream.
    @Test func trailersEndEachStreamOnAReusedPair() throws {
        let bed = try ProxyTestBed(label: "h2resptrl2")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        for id: UInt32 in [1, 3, 5] {
            try c.request(stream: id, path: "/trailers")
            var frames: [H2RawClient.Frame] = []
            _ = try c.read(until: { f in
                if f.stream == id { frames.append(f) }
                return f.stream == id && (f.endStream || f.type == H2RawClient.Kind.rstStream)
            })
            #expect(frames.map(\.type) == [H2RawClient.Kind.headers, H2RawClient.Kind.data, H2RawClient.Kind.headers], "stream \(id)")
            #expect(frames.map(\.endStream) == [false, false, true], "stream \(id)")
            #expect(frames.count == 3 && frames[1].payload == Array("hello world".utf8))
        }
        let lines = try bed.proxy.waitForAccessLog(count: 3)
        #expect(lines.map { $0["status"] as? Int } == [200, 200, 200])
        // One upstream connection served them all.
        #expect(Set(try bed.upstream.requests().map(\.remotePort)).count == 1)
    }

    @Test func chunkedPayloadArrivesDeChunked() throws {
        let bed = try ProxyTestBed(label: "h2respbody")
        let big = try curl(bed, ["-o", bed.dir.file("big"), "http://127.0.0.1:\(bed.proxy.port)/bytes?n=300000&chunked=1"])
        #expect(big.stdout.isEmpty)
        let body = try Data(contentsOf: URL(fileURLWithPath: bed.dir.file("big")))
        #expect(Array(body) == UpstreamFixture.pattern(300000))
    }

    /// How each kind of upstream response ends its stream: a 103 before the 200 is not relayed
    /// (HTTP/2 clients get no interim responses), a 204 is one HEADERS frame that ends the
    /// stream, a close-delimited body ends with the upstream's close, and a body cut short
    /// (the upstream closed before its Content-Length) resets the stream.
    @Test func everyResponseKindEndsItsStream() throws {
        let bed = try ProxyTestBed(label: "h2respend")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        func frames(_ id: UInt32, _ path: String) throws -> [H2RawClient.Frame] {
            try c.request(stream: id, path: path)
            var got: [H2RawClient.Frame] = []
            _ = try c.read(until: { f in
                if f.stream == id { got.append(f) }
                return f.stream == id && (f.endStream || f.type == H2RawClient.Kind.rstStream)
            })
            return got
        }
        typealias Kind = H2RawClient.Kind
        let info = try frames(1, "/info")
        #expect(info.filter { $0.type == Kind.headers }.count == 1)
        #expect(H2RawClient.status(info[0].payload) == 200)
        #expect(String(decoding: info.filter { $0.type == Kind.data }.flatMap(\.payload), as: UTF8.self) == #"{"ok":true,"info":true}"#)

        let noContent = try frames(3, "/status/204")
        #expect(noContent.count == 1 && noContent[0].type == Kind.headers && noContent[0].endStream)
        #expect(H2RawClient.status(noContent[0].payload) == 204)

        let closed = try frames(5, "/bytes?n=50000&close=1")
        #expect(closed.last?.endStream == true)
        #expect(closed.filter { $0.type == Kind.data }.flatMap(\.payload) == UpstreamFixture.pattern(50000))

        let cut = try frames(7, "/truncate?n=1000&send=100")
        #expect(cut.first?.type == Kind.headers)
        #expect(cut.last?.type == Kind.rstStream)
        #expect(cut.last?.errorCode == H2RawClient.Code.internalError)

        let lines = try bed.proxy.waitForAccessLog(count: 4)
        #expect(lines.map { $0["status"] as? Int } == [200, 204, 200, 200])
        #expect(lines.map { $0["error"] as? String } == [nil, nil, nil, "aborted"])
    }

    /// The proxy's own answer to an HTTP/2 client is the HTTP/1.1 one as fields and DATA
    /// (status, JSON, Cache-Control, Retry-After); to a gRPC client, a trailers-only gRPC status
    /// with the same message as grpc-message (DESIGN.md §7), straight from the error.
    @Test func proxyAnswersAreFieldsAndJSONOrAGRPCStatus() throws {
        let bed = try ProxyTestBed(tokenMode: TokenMode(status: 500), label: "h2resperr") { c, up, tok in
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(pathPrefix: "/svc.Service", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        let plain = try curl(bed, ["-i", "http://127.0.0.1:\(bed.proxy.port)/svc.Service/Method"]).stdout
        let (head, json) = try #require(Self.split(plain))
        #expect(head.hasPrefix("http/2 503"), "\(plain)")
        #expect(head.contains("content-type: application/json\r\n"), "\(plain)")
        #expect(head.contains("content-length: \(json.utf8.count)\r\n"), "\(plain)")
        #expect(head.contains("cache-control: no-store\r\n"), "\(plain)")
        #expect(head.contains("retry-after: "), "\(plain)")
        #expect(!head.contains("connection"), "\(plain)")
        let error = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(error["error"] as? String == "token_unavailable")
        let message = try #require(error["message"] as? String)

        let grpc = try curl(bed, ["-i", "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", "",
                                  "http://127.0.0.1:\(bed.proxy.port)/svc.Service/Method"]).stdout
        let (grpcHead, grpcBody) = try #require(Self.split(grpc))
        #expect(grpcHead.hasPrefix("http/2 200"), "\(grpc)")
        #expect(grpcHead.contains("content-type: application/grpc\r\n"), "\(grpc)")
        #expect(grpcHead.contains("grpc-status: 14\r\n"), "\(grpc)")
        #expect(grpcBody.isEmpty)
        let sent = try #require(grpcHead.components(separatedBy: "\r\n").first { $0.hasPrefix("grpc-message: ") })
        #expect(sent.dropFirst("grpc-message: ".count).removingPercentEncoding?.lowercased() == message.lowercased())
        let lines = try bed.proxy.waitForAccessLog(count: 2)
        #expect(lines.map { $0["status"] as? Int } == [503, 503])
        #expect(lines.map { $0["error"] as? String } == ["token_unavailable", "token_unavailable"])
    }

    /// `curl -i` output: the head (lowercased) and the body.
    private static func split(_ out: String) -> (String, String)? {
        guard let r = out.range(of: "\r\n\r\n") else { return nil }
        return (String(out[..<r.upperBound]).lowercased(), String(out[r.upperBound...]))
    }
}
