import Foundation
import Testing

/// How the proxy shares one HTTP/2 client connection between streams that all have bytes to
/// send (DESIGN.md §7): round-robin, so one large download never holds back the others.
@Suite struct HTTP2SchedulingTests {
    typealias Kind = H2RawClient.Kind

    /// Two large downloads on one connection, both buffered in the proxy before the client opens
    /// their windows at once: the connection window (65,535 bytes) is shared between them, not
    /// spent on the first stream alone. RFC 9218's default priority (urgency 3, not incremental)
    /// would send the streams one after the other; every stream without a `priority` field of
    /// its own is sent incrementally instead, as RFC 7540's equal weights did.
    @Test func concurrentDownloadsShareTheConnection() throws {
        let got = try twoDownloads(fields: [])
        // 16 KiB frames, alternating: about half each.
        #expect(got[1]! >= 16384 && got[3]! >= 16384, "\(got)")
    }

    /// A client's own RFC 9218 signal still counts: non-incremental streams of one urgency go
    /// one after the other, the first opened first.
    @Test func clientPriorityFieldIsHonoured() throws {
        let got = try twoDownloads(fields: [("priority", "u=3")])
        #expect(got[1] == 65535 && got[3] == 0, "\(got)")
    }

    /// Stream 1 and 3 each download a megabyte; returns the DATA bytes each got of the first
    /// 65,535 (the connection window) once both were buffered and both their windows opened at
    /// once, after checking that both then arrive whole.
    private func twoDownloads(fields: [(String, String)]) throws -> [UInt32: Int] {
        let bed = try ProxyTestBed(label: "h2-fair")
        let c = try H2RawClient(port: bed.proxy.port)
        // SETTINGS_INITIAL_WINDOW_SIZE 0: no DATA goes before the windows below open.
        try c.start(settings: [(4, 0)])
        try c.ackSettings()
        let n = 1_000_000
        try c.request(stream: 1, path: "/bytes?n=\(n)", fields: fields)
        try c.request(stream: 3, path: "/bytes?n=\(n)", fields: fields)
        var heads = Set<UInt32>()
        _ = try #require(try c.read(until: { f in
            if f.type == Kind.headers { heads.insert(f.stream) }
            return heads.count == 2
        }))
        // Both bodies fill the proxy's buffers (each stream holds over 64 KiB before its
        // upstream pauses).
        Thread.sleep(forTimeInterval: 0.5)
        try c.send(H2RawClient.frame(type: Kind.windowUpdate, stream: 1, payload: H2RawClient.be(UInt32(n), 4))
            + H2RawClient.frame(type: Kind.windowUpdate, stream: 3, payload: H2RawClient.be(UInt32(n), 4)))
        var got: [UInt32: Int] = [1: 0, 3: 0]
        var ended = Set<UInt32>()
        func take(_ f: H2RawClient.Frame) {
            guard f.type == Kind.data else { return }
            got[f.stream, default: 0] += f.payload.count
            if f.endStream { ended.insert(f.stream) }
        }
        _ = try #require(try c.read(until: { f in
            take(f)
            return got[1]! + got[3]! >= 65535
        }))
        let first = got
        // The rest arrives whole once the connection window opens.
        try c.windowUpdate(stream: 0, UInt32(2 * n))
        _ = try #require(try c.read(until: { f in
            take(f)
            return ended.count == 2
        }))
        #expect(got[1] == n && got[3] == n, "\(got)")
        return first
    }
}
