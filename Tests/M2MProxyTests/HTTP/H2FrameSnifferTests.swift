import Testing
@testable import M2MProxy

/// An HTTP/2-only upstream's first bytes are named as such; HTTP/1.1 answers never are.
@Suite struct H2FrameSnifferTests {
    private func sniff(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { H2FrameSniffer.startsWithHTTP2Frame($0.baseAddress!, $0.count) }
    }

    @Test func settingsAndGoAwayFramesAreHTTP2() {
        // Empty SETTINGS; SETTINGS with one parameter; GOAWAY (last stream 0, PROTOCOL_ERROR).
        #expect(sniff([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        #expect(sniff([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]))
        #expect(sniff([0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))
    }

    @Test func otherBytesAreNot() {
        #expect(!sniff(Array("HTTP/1.1 200 OK\r\n".utf8)))
        #expect(!sniff([0, 0, 0, 4]))                       // too short
        #expect(!sniff([0, 0, 5, 4, 0, 0, 0, 0, 0]))        // SETTINGS length not a multiple of 6
        #expect(!sniff([0, 0, 0, 4, 0, 0, 0, 0, 1]))        // SETTINGS on a stream
        #expect(!sniff([0, 0, 0, 1, 0, 0, 0, 0, 1]))        // HEADERS first
    }
}
