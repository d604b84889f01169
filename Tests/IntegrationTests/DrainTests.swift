import Foundation
import Glibc
import Testing

/// SIGTERM drain (DESIGN.md §2): stop accepting, finish in-flight requests, exit 0.
@Suite struct DrainTests {
    static func bed() throws -> ProxyTestBed {
        try ProxyTestBed(label: "drain") { c, up, _ in c.routes = [.init(upstream: up.url)] }
    }

    /// SIGTERM while a 1.5 s request is in flight: new connections are refused at once, the
    /// response still arrives complete, then the proxy exits 0.
    @Test func sigtermFinishesTheInFlightResponseThenExitsZero() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        try c.send("GET /slow?ms=1500 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        try Wait.until("the upstream to receive /slow", timeout: 5) {
            try bed.upstream.requests().contains { $0.path == "/slow" }
        }
        bed.proxy.process.signal(SIGTERM)
        try Wait.until("the proxy to stop accepting connections", timeout: 1) { !Wait.canConnect(port: bed.proxy.port) }
        #expect(bed.proxy.process.isRunning, "the proxy exited with a request in flight")

        let r = try c.readResponse(timeout: 5)
        #expect(r.status == 200, "\(r.summary)")
        #expect(r.json?["slow"] as? Bool == true, "\(r.summary)")
        let status = bed.proxy.process.waitForExit(timeout: 3)
        #expect(status == 0, "exit status \(status.map(String.init) ?? "none (still running)"); stderr: \(bed.proxy.process.stderr.suffix(1000))")
        #expect(!Wait.canConnect(port: bed.proxy.port))
    }

    /// An idle keep-alive connection does not hold up shutdown: the drain closes it (the client
    /// sees EOF) and the proxy exits 0 at once, not after drain_timeout_ms (default 10 s).
    @Test func sigtermClosesIdleKeepAliveConnectionsAndExitsQuickly() throws {
        let bed = try Self.bed()
        let c = try bed.connect()
        try c.send("GET /before HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200, "\(r.summary)")
        #expect(!r.saysClose)

        let start = Date()
        bed.proxy.process.signal(SIGTERM)
        #expect(try c.waitForPeerClose(timeout: 3), "the idle connection was not closed by the drain")
        let status = bed.proxy.process.waitForExit(timeout: 3)
        #expect(status == 0, "exit status \(status.map(String.init) ?? "none (still running)"); stderr: \(bed.proxy.process.stderr.suffix(1000))")
        #expect(Date().timeIntervalSince(start) < 3)
    }

    /// SIGTERM while a client with a 16 KiB receive buffer downloads 20 MB: the request ends
    /// (the upstream's last byte is read) while up to a few hundred KiB still wait in the
    /// proxy's write queue; the drain must flush them before exiting.
    @Test func sigtermFlushesAResponseStillQueuedForASlowClient() throws {
        let size = 20 << 20
        let bed = try Self.bed()
        let c = try RawHTTPConnection(port: bed.proxy.port, timeout: 20, receiveBufferBytes: 16 << 10)
        try c.send("GET /bytes?n=\(size) HTTP/1.1\r\nHost: client.test\r\n\r\n")
        let head = try c.readInterimHead()
        #expect(head.status == 200, "\(head.summary)")
        bed.proxy.process.signal(SIGTERM)
        try Wait.until("the proxy to stop accepting connections", timeout: 1) { !Wait.canConnect(port: bed.proxy.port) }

        var checker = PatternStream.Checker()
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { piece.deallocate() }
        while checker.count < size {
            let n = try c.readSome(into: UnsafeMutableRawBufferPointer(rebasing: piece[0..<min(piece.count, size - checker.count)]))
            if n == 0 { break }
            checker.feed(UnsafeRawBufferPointer(rebasing: piece[0..<n]))
        }
        #expect(checker.count == size, "received \(checker.count) of \(size) bytes before the connection ended")
        #expect(checker.firstMismatch == nil)
        let status = bed.proxy.process.waitForExit(timeout: 3)
        #expect(status == 0, "exit status \(status.map(String.init) ?? "none (still running)"); stderr: \(bed.proxy.process.stderr.suffix(1000))")
    }

    /// The drain closes idle keep-alive connections at once, not when the process ends: with
    /// another request still in flight, the idle client sees EOF while the proxy keeps running.
    @Test func sigtermClosesIdleConnectionsWhileARequestIsInFlight() throws {
        let bed = try Self.bed()
        let idle = try bed.connect()
        try idle.send("GET /before HTTP/1.1\r\nHost: client.test\r\n\r\n")
        #expect(try idle.readResponse().status == 200)
        let busy = try bed.connect()
        try busy.send("GET /slow?ms=1500 HTTP/1.1\r\nHost: client.test\r\n\r\n")
        try Wait.until("the upstream to receive /slow", timeout: 5) {
            try bed.upstream.requests().contains { $0.path == "/slow" }
        }
        bed.proxy.process.signal(SIGTERM)
        #expect(try idle.waitForPeerClose(timeout: 1), "the idle connection was not closed by the drain")
        #expect(bed.proxy.process.isRunning, "the proxy exited with a request in flight")
        let r = try busy.readResponse(timeout: 5)
        #expect(r.status == 200, "\(r.summary)")
        #expect(bed.proxy.process.waitForExit(timeout: 3) == 0)
    }
}
