import Foundation
import Testing

/// TLS session resumption to an https upstream under churn and concurrency (issue 5), against
/// the Python `ssl` upstream, which logs per request whether its connection resumed a session.
/// `upstream_idle_connections = 0` makes every request open a new upstream connection.
@Suite(.serialized) struct TLSResumptionTests {
    /// A proxy with one https route, no idle upstream connections, and the admin listener.
    static func bed() throws -> (TLSTests.Bed, AdminClient) {
        var adminPort: UInt16 = 0
        let bed = try TLSTests.Bed { c, up, _, pki in
            adminPort = try c.enableAdmin()
            c.limits["upstream_idle_connections"] = 0
            c.routes = [.init(name: "tls", upstream: up.url, extra: TLSTests.caKeys(pki))]
        }
        return (bed, try AdminClient(port: adminPort))
    }

    /// Resumed flag of each upstream connection, in the order of their first request.
    static func resumedByConnection(_ bed: TLSTests.Bed) throws -> [(conn: Int, resumed: Bool)] {
        var seen: Set<Int> = []
        var out: [(Int, Bool)] = []
        for r in try bed.upstreamRequests() {
            let id = r["conn_id"] as! Int
            guard seen.insert(id).inserted else { continue }
            out.append((id, (r["tls"] as? [String: Any])?["resumed"] as? Bool ?? false))
        }
        return out
    }

    /// `count` requests on as many client connections, all sent before any answer is read, so
    /// the proxy opens their upstream connections at the same time.
    static func concurrent(_ bed: TLSTests.Bed, _ count: Int, tag: String) throws {
        let conns = try (0..<count).map { _ in try bed.proxy.connect() }
        for (i, c) in conns.enumerated() {
            try c.send("GET /\(tag)\(i) HTTP/1.1\r\nHost: client.test\r\nConnection: close\r\n\r\n")
        }
        for c in conns { #expect(try c.readResponse().status == 200) }
    }

    static func handshakes(_ admin: AdminClient, _ bed: TLSTests.Bed) throws -> (full: Double, resumed: Double) {
        let m = try admin.metrics()
        let label = "upstream=\"localhost:\(bed.upstream.port)\""
        return (m["m2m_upstream_tls_handshakes_total{\(label),resumed=\"false\"}"] ?? -1,
                m["m2m_upstream_tls_handshakes_total{\(label),resumed=\"true\"}"] ?? -1)
    }

    @Test func everyChurnedConnectionResumes() throws {
        let (bed, admin) = try Self.bed()
        let before = try Self.handshakes(admin, bed)
        #expect(before.full == 0 && before.resumed == 0)
        for i in 0..<12 { #expect(try bed.get("/seq\(i)").status == 200) }
        let conns = try Self.resumedByConnection(bed)
        #expect(conns.count == 12, "idle cap 0: one upstream connection per request")
        #expect(conns.first?.resumed == false)
        let full = conns.dropFirst().filter { !$0.resumed }.count
        #expect(full == 0, "churned connections that did not resume: \(full)")
        let h = try Self.handshakes(admin, bed)
        #expect(h.full == 1 && h.resumed == 11, "\(h)")
    }

    @Test func concurrentConnectionsResumeOnceATicketExists() throws {
        let (bed, admin) = try Self.bed()
        // The first batch has no ticket to offer (at most all of it is full); every later batch
        // opens its connections at once while the previous ones' tickets are in the pool. Before
        // private session copies, a connection finishing its resumed handshake made the shared
        // session unusable and about a third of these were full.
        let batch = 10
        try Self.concurrent(bed, batch, tag: "first")
        let first = try Self.resumedByConnection(bed)
        #expect(first.count == batch)
        let firstFull = first.filter { !$0.resumed }.count
        #expect(firstFull >= 1)
        for round in 0..<8 { try Self.concurrent(bed, batch, tag: "r\(round)-") }
        let all = try Self.resumedByConnection(bed)
        #expect(all.count == 9 * batch)
        let later = all.dropFirst(batch).filter { !$0.resumed }
        #expect(later.isEmpty, "full handshakes after the first batch: \(later.count)")
        let h = try Self.handshakes(admin, bed)
        #expect(h.full == Double(firstFull))
        #expect(h.resumed == Double(9 * batch - firstFull))
    }
}
