import Foundation
import Testing

/// Issue 7: memory held by idle keep-alive clients (target: <= 64 MB with 10,000 of them, about
/// 4.5 KB each), and pooled buffers going back after a burst.
@Suite struct IdleMemoryTests {
    static let idleConnections = 2000
    /// Per idle keep-alive connection, everything included (libuv handles, the connection and
    /// parser objects, the worker's bookkeeping). Per-request tables held by every connection
    /// (~7 KB before they moved into pooled buffers) fail it.
    static let bytesPerIdleConnection = Sanitizers.rssBound(4608)

    @Test func idleKeepAliveConnectionsHoldLittleMemory() throws {
        let bed = try ProxyTestBed(limits: ["max_connections": Self.idleConnections + 100], label: "idle-mem")
        // Token, upstream connection and buffers in place before the baseline.
        let warm = try bed.connect()
        for i in 0..<3 {
            try warm.send("GET /warm\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try warm.readResponse().status == 200)
        }
        let before = try bed.proxy.residentBytes()
        var held: [RawHTTPConnection] = []
        held.reserveCapacity(Self.idleConnections)
        for i in 0..<Self.idleConnections {
            let c = try bed.connect()
            try c.send("GET /idle\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try c.readResponse()
            guard r.status == 200 else {
                Issue.record("connection \(i): \(r.summary)")
                return
            }
            held.append(c)
        }
        let after = try bed.proxy.residentBytes()
        let perConnection = (after - before) / Self.idleConnections
        #expect(perConnection < Self.bytesPerIdleConnection,
                "\(perConnection) bytes per idle connection (\(before >> 10) KiB -> \(after >> 10) KiB)")
        // Still keep-alive and usable.
        try held[0].send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try held[0].readResponse().status == 200)
        for c in held { c.close() }
    }

    /// Concurrent big responses to clients that read late fill the pool with head buffers;
    /// once traffic stops, the pool releases them within a few trim intervals and (without a
    /// sanitizer, whose allocator keeps freed memory) the RSS the burst added goes back.
    @Test func buffersGoBackAfterABurst() throws {
        let (bed, admin) = try ProxyTestBed.withAdmin(label: "pool-trim")
        #expect(try bed.get("/warm").status == 200)
        let base = try bed.proxy.residentBytes()
        let bodyBytes = 1 << 20
        var clients: [RawHTTPConnection] = []
        for _ in 0..<40 {
            let c = try bed.connect()
            try c.send("GET /bytes?n=\(bodyBytes) HTTP/1.1\r\nHost: x\r\n\r\n")
            clients.append(c)
        }
        // Nobody reads yet: 40 exchanges in flight at once, each with its buffers.
        try Wait.until("the 40 requests to reach the upstream", timeout: 20) {
            (try? bed.upstream.requests().filter { $0.path == "/bytes" }.count) == 40
        }
        for c in clients {
            let r = try c.readResponse(timeout: 30)
            #expect(r.status == 200 && r.body.count == bodyBytes)
        }
        let pooled = try #require(try admin.metrics()["m2m_buffer_pool_bytes"])
        let peak = try bed.proxy.residentBytes()
        #expect(pooled > Double(8 << 20), "pool after the burst: \(Int(pooled) >> 10) KiB")
        try Wait.until("the pool to release the burst's buffers", timeout: 20) {
            (try admin.metrics()["m2m_buffer_pool_bytes"] ?? .infinity) < Double(1 << 20)
        }
        if !Sanitizers.active && peak - base > 1 << 20 {
            try Wait.until("RSS to lose half of what the burst added (\(base >> 10) -> \(peak >> 10) KiB)", timeout: 5) {
                try bed.proxy.residentBytes() - base < (peak - base) / 2
            }
        }
        // Still serving, with buffers allocated again as needed.
        #expect(try bed.get("/after").status == 200)
    }
}
