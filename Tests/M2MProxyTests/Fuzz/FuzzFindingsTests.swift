import Testing
@testable import M2MProxy

/// Regression tests for what `scripts/fuzz.sh` found (Fuzz/README.md, "Findings").
@Suite struct FuzzFindingsTests {
    private static func trailerRun(_ reads: [String]) -> [ParseEvent] {
        let head = Array("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        let p = HTTPParser(kind: .request)
        p.isForbiddenTrailer = RequestValidation.isForbiddenTrailerName
        var events: [ParseEvent] = []
        head.withUnsafeBytes { h in
            guard case .headersComplete = p.execute(h.baseAddress!, h.count) else { return }
            p.resume()
            // One reused read buffer, as Worker.readBuffer.
            let readBuffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
            defer { readBuffer.deallocate() }
            for r in reads.map({ Array($0.utf8) }) {
                readBuffer.copyMemory(from: r, byteCount: r.count)
                events.append(p.execute(readBuffer, r.count))
            }
        }
        return events
    }

    private static func isForbidden(_ e: ParseEvent?) -> Bool {
        if case .error(.forbiddenTrailer)? = e { return true }
        return false
    }

    /// Finding 1 (fuzz target `request`): a trailer name cut by a socket read ("Autho" |
    /// "rization") used to be joined as spans across two reads of the reused read buffer, so a
    /// wrong name was classified and `Authorization` slipped through. Names are now copied.
    @Test func trailerNameSplitAcrossReadsIsStillForbidden() {
        let events = Self.trailerRun(["0\r\nAutho", "rization: Bearer evil\r\n\r\n"])
        #expect(Self.isForbidden(events.last))
    }

    @Test func trailerInOneReadIsForbidden() {
        #expect(Self.isForbidden(Self.trailerRun(["0\r\nAuthorization: Bearer evil\r\n\r\n"]).last))
    }

    /// A split name that is not forbidden ("Ho" | "stile") is not mistaken for `Host`.
    @Test func splitHarmlessTrailerPasses() {
        let events = Self.trailerRun(["0\r\nHo", "stile: 1\r\n\r\n"])
        guard case .messageComplete? = events.last else {
            Issue.record("expected the message to complete: \(events)")
            return
        }
    }

    /// Finding 2 (fuzz target `router`): `matchesMethod` trapped on a negative code.
    @Test func negativeMethodCodeDoesNotTrap() {
        let up = EndpointURL(scheme: .http, host: "127.0.0.1", port: 8080, path: "", authority: "127.0.0.1:8080")
        let cfg = RouteConfig(
            name: "r", host: .any, pathPrefix: "/", methods: ["GET"], upstream: up, credentialIndex: nil,
            resource: nil, scopes: [], organizationID: nil, preserveHost: false, tlsCAFile: nil)
        let route = CompiledRoute(index: 0, config: cfg, upstreamSlot: 0, tokenSlot: nil)
        #expect(!route.matchesMethod(-1))
    }
}
