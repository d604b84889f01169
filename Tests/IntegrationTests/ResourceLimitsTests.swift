import Foundation
import Testing

/// Issue 8 §3: connection and request limits, and the header timeout holding under many slow
/// clients (slowloris) while normal traffic is served.
@Suite struct ResourceLimitsTests {
    /// With max_connections = 3, connections opened one after another are served until the
    /// limit; the next gets 503 overloaded and is closed; closing one lets a new one in.
    @Test func connectionsOverMaxConnectionsGet503Overloaded() throws {
        let bed = try ProxyTestBed(limits: ["max_connections": 3])
        var open: [RawHTTPConnection] = []
        var refused: HTTPResponse?
        for i in 0..<6 {
            let c = try bed.connect()
            try c.send("GET /c\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try c.readResponse()
            if r.status == 503 {
                refused = r
                #expect(try c.waitForPeerClose(timeout: 5))
                break
            }
            #expect(r.status == 200)
            open.append(c)
        }
        let r = try #require(refused, "no connection was refused")
        #expect(r.json?["error"] as? String == "overloaded")
        #expect(r.header("Retry-After") == "1")
        #expect(open.count >= 2 && open.count <= 3)
        try open[0].send("GET /still HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try open[0].readResponse().status == 200)
        open.removeFirst().close()
        try Wait.until("a new connection to be served", timeout: 5) {
            (try? bed.get("/again").status) == 200
        }
    }

    @Test func maxRequestsPerConnectionClosesAfterTheLimit() throws {
        let bed = try ProxyTestBed(limits: ["max_requests_per_connection": 2])
        let c = try bed.connect()
        try c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = try c.readResponse()
        let second = try c.readResponse()
        #expect(first.status == 200 && first.header("Connection") == nil)
        #expect(second.status == 200 && second.header("Connection")?.lowercased() == "close")
        #expect(try c.waitForPeerClose(timeout: 5))
    }

    /// 1000 connections that send a head one byte at a time, too slowly: each is answered 408 or
    /// closed after header_timeout_ms, and a normal client is served throughout.
    @Test func slowlorisConnectionsAreCutWhileNormalTrafficFlows() throws {
        let bed = try ProxyTestBed(limits: ["header_timeout_ms": 700])
        var slow: [RawHTTPConnection] = []
        for _ in 0..<1000 {
            let c = try bed.connect()
            try c.send("GET /slow HTTP/1.1\r\nHo")
            slow.append(c)
        }
        let start = Date()
        for _ in 0..<5 {
            #expect(try bed.get("/normal").status == 200)
        }
        #expect(Date().timeIntervalSince(start) < 5)
        var cut = 0
        for c in slow {
            let bytes = try c.readUntilClose(timeout: 10)
            if bytes.isEmpty || String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 408") { cut += 1 }
        }
        #expect(cut == 1000)
        #expect(Date().timeIntervalSince(start) < 15)
        #expect(try bed.upstream.requests().filter { $0.path == "/slow" }.isEmpty)
    }
}
