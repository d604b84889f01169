import Foundation
import Glibc

/// The upstream's `/bytes` pattern (byte i is i % 251) in pieces, for bodies of hundreds of MB
/// that neither side should hold in memory: `Source` produces it for uploads, `Checker`
/// verifies a downloaded stream with memcmp (the harness's SHA-256 is far too slow in debug
/// builds for such sizes).
enum PatternStream {
    /// 251 × 256 bytes: whole periods, so consecutive blocks continue the pattern.
    static let block: [UInt8] = UpstreamFixture.pattern(251 * 256)

    /// Sends `count` pattern bytes on `c`, calling `between` after each block (for sampling).
    static func send(_ count: Int, on c: RawHTTPConnection, between: () throws -> Void = {}) throws {
        var sent = 0
        while sent < count {
            let n = min(block.count, count - sent)
            try c.send(n == block.count ? block : Array(block.prefix(n)))
            sent += n
            try between()
        }
    }

    /// Checks a stream piece by piece against the pattern.
    struct Checker {
        /// Bytes seen so far.
        private(set) var count = 0
        /// Offset of the first piece that differed from the pattern, if any.
        private(set) var firstMismatch: Int?
        private static let window: [UInt8] = UpstreamFixture.pattern(251 + 1 << 20)

        /// `piece` (at most 1 MiB) continues the stream.
        mutating func feed(_ piece: UnsafeRawBufferPointer) {
            precondition(piece.count <= 1 << 20)
            let start = count % 251
            let same = Self.window.withUnsafeBytes { memcmp($0.baseAddress! + start, piece.baseAddress!, piece.count) == 0 }
            if !same && firstMismatch == nil { firstMismatch = count }
            count += piece.count
        }
    }

    /// SHA-256 of pattern(`count`), computed by the fixture's Python (`--pattern-sha256`).
    static func sha256(_ count: Int, in dir: TempDir) throws -> String {
        let p = try ChildProcess(
            name: "pattern-sha256", executable: TestPaths.python,
            arguments: [TestPaths.fixture("upstream.py"), "--pattern-sha256", "\(count)"], in: dir)
        guard p.waitForExit(timeout: 20) == 0 else { throw HarnessError("pattern-sha256 failed: \(p.stderr)") }
        return p.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension RawHTTPConnection {
    /// Reads body bytes into `checker` until it has seen `limit` bytes or the peer closes,
    /// through `piece` (a caller-owned buffer, reused across calls).
    func readPattern(into checker: inout PatternStream.Checker, upTo limit: Int, piece: UnsafeMutableRawBufferPointer) throws {
        while checker.count < limit {
            let n = try readSome(into: UnsafeMutableRawBufferPointer(rebasing: piece[0..<min(piece.count, limit - checker.count)]))
            if n == 0 { break }
            checker.feed(UnsafeRawBufferPointer(rebasing: piece[0..<n]))
        }
    }
}
