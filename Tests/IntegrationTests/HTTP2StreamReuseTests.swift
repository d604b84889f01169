import Foundation
import Testing

/// The in-process pairs behind HTTP/2 streams (`H2StreamBridge`) are kept alive and reused for
/// the connection's next streams: every stream still gets its own answer and its own access-log
/// line, and a pair whose exchange ended abnormally (an error answered with `connection: close`,
/// a reset stream) is not reused.
@Suite struct HTTP2StreamReuseTests {
    /// What one stream got back: the first byte of its HEADERS block, its body, and whether it
    /// was reset.
    struct Answer {
        var headers: [UInt8] = []
        var body: [UInt8] = []
        var reset = false
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Reads frames until every stream of `ids` ended (END_STREAM or RST_STREAM).
    private func answers(_ c: H2RawClient, _ ids: [UInt32]) throws -> [UInt32: Answer] {
        var out: [UInt32: Answer] = [:]
        var open = Set(ids)
        while !open.isEmpty {
            let f = try #require(try c.next(), "the proxy closed the connection")
            guard open.contains(f.stream) else { continue }
            var a = out[f.stream] ?? Answer()
            switch f.type {
            case H2RawClient.Kind.headers where a.headers.isEmpty: a.headers = f.payload
            case H2RawClient.Kind.data: a.body += f.payload
            case H2RawClient.Kind.rstStream: a.reset = true
            default: break
            }
            out[f.stream] = a
            if f.endStream || a.reset { open.remove(f.stream) }
        }
        return out
    }

    @Test func pairsAreReusedAndEveryStreamGetsItsOwnAnswer() throws {
        var adminPort: UInt16 = 0
        let bed = try ProxyTestBed(label: "h2reuse") { c, up, tok in
            adminPort = try c.enableAdmin()
            c.limits = ["max_body_bytes": 100]
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [
                .init(name: "ok", pathPrefix: "/ok", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"]),
                .init(name: "hang", pathPrefix: "/hang", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"]),
            ]
        }
        let admin = try AdminClient(port: adminPort)
        func openConnections() throws -> Double { try admin.metrics()["m2m_open_connections"] ?? -1 }
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        var stream: UInt32 = 1
        var logged = 0

        // One at a time: routed answers, a 404 (kept alive), a HEAD, and a 413 (answered with
        // `connection: close`: that pair goes, the next stream gets a new one).
        for i in 0..<13 {
            let id = stream
            stream += 2
            switch i % 4 {
            case 0, 2:
                try c.request(stream: id, path: "/ok/seq\(i)")
                let a = try #require(try answers(c, [id])[id])
                #expect(H2RawClient.status(a.headers) == 200)
                #expect(a.text.contains("\"path\":\"/ok/seq\(i)\""), "stream \(id): \(a.text)")
            case 1:
                try c.request(stream: id, path: "/none/\(i)")
                let a = try #require(try answers(c, [id])[id])
                #expect(H2RawClient.status(a.headers) == 404)
                #expect(a.text.contains("no_route"), "stream \(id): \(a.text)")
            default:
                if i == 7 {
                    try c.request(stream: id, method: "HEAD", path: "/ok/head")
                    let a = try #require(try answers(c, [id])[id])
                    #expect(H2RawClient.status(a.headers) == 200)
                    #expect(a.body.isEmpty && !a.reset)
                } else {
                    try c.request(stream: id, method: "POST", path: "/ok/big", fields: [("content-length", "500")], endStream: false)
                    try c.send(type: H2RawClient.Kind.data, flags: 1, stream: id, payload: [UInt8](repeating: 0x61, count: 500))
                    let a = try #require(try answers(c, [id])[id])
                    #expect(a.text.contains("body_too_large"), "stream \(id): \(a.text)")
                }
            }
            logged += 1
        }
        _ = try bed.proxy.waitForAccessLog(count: logged)
        // Thirteen streams one after the other, the last a 200: the HTTP/2 connection and one
        // idle pair.
        var seen = -1.0
        try Wait.until("one idle pair is left (open connections: \(seen))", timeout: 10) {
            seen = try openConnections()
            return seen == 2
        }

        // A stream reset mid-exchange frees its upstream work and its pair is not reused.
        let hang = stream
        stream += 2
        try c.request(stream: hang, path: "/hang")
        try Wait.until("the upstream got /hang", timeout: 10) { (try? bed.upstream.requests().contains { $0.path == "/hang" }) == true }
        try c.send(type: H2RawClient.Kind.rstStream, stream: hang, payload: H2RawClient.be(H2RawClient.Code.cancel, 4))
        logged += 1
        let lines = try bed.proxy.waitForAccessLog(count: logged)
        #expect(lines.last?["error"] as? String == "aborted")

        // Concurrent streams, twice: each gets its own body; afterwards as many pairs are idle
        // as were busy at once, not one per stream.
        for round in 0..<2 {
            var ids: [UInt32: String] = [:]
            for j in 0..<6 {
                let path = j == 3 ? "/none/c\(round)" : "/ok/c\(round)-\(j)"
                try c.request(stream: stream, path: path)
                ids[stream] = path
                stream += 2
            }
            let got = try answers(c, Array(ids.keys))
            for (id, path) in ids {
                let a = try #require(got[id])
                #expect(!a.reset)
                if path.hasPrefix("/none") {
                    #expect(a.text.contains("no_route"), "stream \(id): \(a.text)")
                } else {
                    #expect(a.text.contains("\"path\":\"\(path)\""), "stream \(id) \(path): \(a.text)")
                }
            }
            logged += ids.count
        }
        let all = try bed.proxy.waitForAccessLog(count: logged)
        #expect(all.count == logged)
        #expect(all.filter { $0["protocol"] as? String == "HTTP/2" }.count == logged)
        try Wait.until("the pairs are idle", timeout: 10) { try openConnections() <= 7 }
        #expect(try openConnections() >= 2)
        // The connection still serves after all that.
        try c.request(stream: stream, path: "/ok/last")
        let last = try #require(try answers(c, [stream])[stream])
        #expect(last.text.contains("\"path\":\"/ok/last\""))
    }

    /// `grpc-timeout` stays a stream's own deadline on a reused pair: a call with a short one
    /// ends at it, the next call on the same pair (without one) gets the route's
    /// response_timeout_ms. The upstream is an h2c server that never answers.
    @Test func grpcTimeoutIsPerStreamOnAReusedPair() throws {
        var adminPort: UInt16 = 0
        let silent = try ScriptFixture("h2_silent_upstream.py", label: "h2reusedl")
        let bed = try ProxyTestBed(label: "h2reusedl") { c, _, tok in
            adminPort = try c.enableAdmin()
            c.limits = ["response_timeout_ms": 1500]
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(name: "svc", upstream: "h2c://127.0.0.1:\(silent.port)", credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        let admin = try AdminClient(port: adminPort)
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        func call(stream: UInt32, _ extra: [(String, String)]) throws -> Double {
            let t0 = Date()
            try c.request(stream: stream, method: "POST", path: "/svc.S/M",
                          fields: [("content-type", "application/grpc"), ("te", "trailers")] + extra)
            _ = try answers(c, [stream])
            return Date().timeIntervalSince(t0)
        }
        let short = try call(stream: 1, [("grpc-timeout", "200m")])
        #expect(short < 1.2, "answered after \(short) s")
        // The pair went idle (the 504 keeps it) and carries the next call.
        try Wait.until("one idle pair", timeout: 10) { (try admin.metrics()["m2m_open_connections"]) == 2 }
        let long = try call(stream: 3, [])
        #expect(long >= 1.4, "answered after \(long) s: the previous stream's deadline stayed")
        #expect(try admin.metrics()["m2m_open_connections"] == 2)
        let lines = try bed.proxy.waitForAccessLog(count: 2)
        #expect(lines.map { $0["error"] as? String } == ["upstream_timeout", "upstream_timeout"])
        #expect(lines.map { $0["upstream_error"] as? String } == [nil, "response_timeout"])
    }

    /// A stream without a body hands its head to the inner connection as values, one with a body
    /// still as HTTP/1.1 bytes through the pair: on one reused pair they alternate, every request
    /// reaches the upstream whole (llhttp starts afresh after a head given as values), and the
    /// pair stays the one pair.
    @Test func bodylessAndBodyStreamsAlternateOnOnePair() throws {
        let (bed, admin) = try ProxyTestBed.withAdmin(label: "h2mix")
        let c = try H2RawClient(port: bed.proxy.port)
        try c.start()
        let body = [UInt8](repeating: 0x62, count: 700)
        var stream: UInt32 = 1
        for round in 0..<3 {
            try c.request(stream: stream, path: "/get\(round)", fields: [("x-round", "\(round)")])
            #expect(H2RawClient.status(try #require(try answers(c, [stream])[stream]).headers) == 200)
            stream += 2
            try c.request(stream: stream, method: "POST", path: "/chunked\(round)", endStream: false)
            try c.send(type: H2RawClient.Kind.data, stream: stream, payload: Array(body[..<300]))
            try c.send(type: H2RawClient.Kind.data, flags: 1, stream: stream, payload: Array(body[300...]))
            #expect(H2RawClient.status(try #require(try answers(c, [stream])[stream]).headers) == 200)
            stream += 2
            try c.request(stream: stream, method: "DELETE", path: "/delete\(round)", fields: [("content-length", "0")])
            #expect(H2RawClient.status(try #require(try answers(c, [stream])[stream]).headers) == 200)
            stream += 2
            try c.request(stream: stream, method: "PUT", path: "/length\(round)", fields: [("content-length", "700")], endStream: false)
            try c.send(type: H2RawClient.Kind.data, flags: 1, stream: stream, payload: body)
            #expect(H2RawClient.status(try #require(try answers(c, [stream])[stream]).headers) == 200)
            stream += 2
        }
        let seen = try bed.upstream.requests()
        #expect(seen.count == 12)
        for round in 0..<3 {
            let get = try #require(seen.first { $0.path == "/get\(round)" })
            #expect(get.method == "GET" && get.bodyLen == 0 && get.header("x-round") == "\(round)")
            #expect(get.header("Authorization")?.hasPrefix("Bearer ") == true)
            let chunked = try #require(seen.first { $0.path == "/chunked\(round)" })
            #expect(chunked.method == "POST" && chunked.bodyLen == 700 && chunked.header("Transfer-Encoding") == "chunked")
            let delete = try #require(seen.first { $0.path == "/delete\(round)" })
            #expect(delete.method == "DELETE" && delete.bodyLen == 0)
            let length = try #require(seen.first { $0.path == "/length\(round)" })
            #expect(length.method == "PUT" && length.bodyLen == 700 && length.header("Content-Length") == "700")
        }
        let lines = try bed.proxy.waitForAccessLog(count: 12)
        #expect(lines.allSatisfy { $0["protocol"] as? String == "HTTP/2" && $0["status"] as? Int == 200 })
        // The HTTP/2 connection and one pair.
        try Wait.until("one idle pair", timeout: 10) { (try admin.metrics()["m2m_open_connections"]) == 2 }
    }
}
