import Testing
@testable import M2MProxy

/// `H2Names`: the name comparisons the HTTP/2 request checks rest on (`H2RequestHead`).
@Suite struct H2NamesTests {
    private func bytes<R>(_ s: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        Array(s.utf8).withUnsafeBytes(body)
    }

    @Test func equalIgnoresASCIICaseOnlyAndNeedsTheWholeName() {
        #expect(bytes("Content-Length") { H2Names.equal($0, "content-length") })
        #expect(bytes("te") { H2Names.equal($0, "te") })
        #expect(!bytes("te ") { H2Names.equal($0, "te") })
        #expect(!bytes("t") { H2Names.equal($0, "te") })
        // Only 'A'...'Z' fold: 0xc5 is not 0xe5, '@' is not '`'.
        #expect(!bytes("@") { H2Names.equal($0, "`") })
        #expect(!bytes("TRAILERS\u{0}") { H2Names.equal($0, "trailers") })
    }

    /// RFC 9113 §8.2.2's list, and nothing that merely starts like one.
    @Test func connectionSpecificFields() {
        for n in ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "Connection"] {
            #expect(bytes(n) { H2Names.isConnectionSpecific($0) }, "\(n)")
        }
        for n in ["te", "connections", "upgrade-insecure-requests", "keep-alives", "transfer-encodin", ""] {
            #expect(!bytes(n) { H2Names.isConnectionSpecific($0) }, "\(n)")
        }
    }
}
