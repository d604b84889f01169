import Testing
@testable import M2MProxy

/// RFC 9112 §7.1.1 BWS in chunk lines: removed around `;` and `=`, refused anywhere else, and
/// nothing outside chunk lines (data, trailers, what follows the body) is touched — whatever
/// way the bytes are split into reads.
@Suite struct ChunkLineNormalizerTests {
    /// Runs `input` through a normalizer in pieces of `piece` bytes; nil when it failed.
    private func clean(_ input: String, piece: Int = Int.max) -> String? {
        var n = ChunkLineNormalizer()
        var out: [UInt8] = []
        var bytes = Array(input.utf8)[...]
        while !bytes.isEmpty {
            var part = Array(bytes.prefix(piece))
            bytes = bytes.dropFirst(part.count)
            let kept = part.withUnsafeMutableBytes { n.normalize($0.baseAddress!, $0.count) }
            if n.failed { return nil }
            out += part[0..<kept]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let cases: [(String, String?)] = [
        ("5;q=a\r\nhello\r\n0\r\n\r\n", "5;q=a\r\nhello\r\n0\r\n\r\n"),
        ("5 ; q=a\r\nhello\r\n0\r\n\r\n", "5;q=a\r\nhello\r\n0\r\n\r\n"),
        ("5\t;\tq = a ;r\r\nhello\r\n0 ; end = 1\r\n\r\n", "5;q=a;r\r\nhello\r\n0;end=1\r\n\r\n"),
        ("5;q=\" a ; b \"\r\nhe  o\r\n0\r\n\r\n", "5;q=\" a ; b \"\r\nhe  o\r\n0\r\n\r\n"),
        ("5;q=\"a\\\" ;\" ; r\r\nhello\r\n0\r\n\r\n", "5;q=\"a\\\" ;\";r\r\nhello\r\n0\r\n\r\n"),
        ("3 ;x\r\na b\r\n0\r\nT: a ; b\r\n\r\nGET / HTTP/1.1 ; x\r\n", "3;x\r\na b\r\n0\r\nT: a ; b\r\n\r\nGET / HTTP/1.1 ; x\r\n"),
        ("a ;x\r\n0123456789\r\n0\r\n\r\n", "a;x\r\n0123456789\r\n0\r\n\r\n"),
        ("5 \r\nhello\r\n0\r\n\r\n", nil),
        ("5 5\r\nhello\r\n0\r\n\r\n", nil),
        (" 5\r\nhello\r\n0\r\n\r\n", nil),
        ("5;a b\r\nhello\r\n0\r\n\r\n", nil),
        ("5;a=b \r\nhello\r\n0\r\n\r\n", nil),
    ]

    @Test(arguments: cases)
    func cleanedOrRefused(_ input: String, _ expected: String?) {
        for piece in [Int.max, 1, 2, 3, 7] {
            #expect(clean(input, piece: piece) == expected, "piece \(piece)")
        }
    }
}
