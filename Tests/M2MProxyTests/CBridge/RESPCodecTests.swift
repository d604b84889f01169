import Testing
@testable import M2MProxy

/// RESP framing through hiredis's reader and formatter (no sockets): exact command bytes,
/// replies split anywhere across reads, pipelined replies, nil and nested values, bad input.
@Suite struct RESPCodecTests {
    @Test func formatsBinarySafeCommands() {
        let bytes = RESPDecoder.format([Array("SET".utf8), [0, 13, 10, 255], []])
        #expect(bytes == Array("*3\r\n$3\r\nSET\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n$0\r\n\r\n".utf8))
        #expect(RESPDecoder.format("PING") == Array("*1\r\n$4\r\nPING\r\n".utf8))
    }

    @Test func decodesPipelinedRepliesFedByteByByte() throws {
        let wire = Array("+OK\r\n$-1\r\n:42\r\n$5\r\nh\r\nlo\r\n-WRONGPASS invalid\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n*-1\r\n".utf8)
        let d = RESPDecoder()
        var replies: [RESPValue] = []
        for b in wire {
            try d.feed([b])
            while let r = try d.next() { replies.append(r) }
        }
        #expect(replies == [
            .status("OK"), .bulk(nil), .integer(42), .bulk(Array("h\r\nlo".utf8)), .error("WRONGPASS invalid"),
            .array([.bulk(Array("message".utf8)), .bulk(Array("ch".utf8)), .bulk(Array("x".utf8))]),
            // hiredis 0.14 reports a nil array as its one NIL type.
            .bulk(nil),
        ])
    }

    @Test func partialReplyWaitsForMoreBytes() throws {
        let d = RESPDecoder()
        try d.feed(Array("$10\r\n01234".utf8))
        #expect(try d.next() == nil)
        try d.feed(Array("56789\r\n".utf8))
        #expect(try d.next() == .bulk(Array("0123456789".utf8)))
        #expect(try d.next() == nil)
    }

    @Test func garbageIsAProtocolError() throws {
        let d = RESPDecoder()
        try d.feed(Array("?what\r\n".utf8))
        #expect(throws: RESPDecoder.ProtocolError.self) { try d.next() }
    }
}
