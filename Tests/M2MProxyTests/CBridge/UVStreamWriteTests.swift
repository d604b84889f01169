import CLibUV
import Glibc
import Testing
@testable import M2MProxy

/// `UVStream.rawWrite`: small multi-piece writes go out as one copied piece, larger ones as the
/// pieces themselves, and what the socket does not take at once is queued; in every case the
/// peer reads exactly the pieces' bytes in order.
@Suite(.serialized) struct UVStreamWriteTests {
    /// A stream over one end of a socket pair; the test reads the other end itself.
    final class Writer: UVStream {
        var writesDone = 0
        override func onWriteDone(_ error: UVError?) { writesDone += 1 }
    }

    /// One loop for the suite (serialized), kept for the process like a worker's: its
    /// `LoopIO` holds handles that live as long as the loop.
    nonisolated(unsafe) static let loop: UnsafeMutablePointer<uv_loop_t> = {
        let l = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        uv_loop_init(l)
        return l
    }()
    nonisolated(unsafe) static let io = LoopIO(loop: loop, headBufferCapacity: 4096)

    final class Harness {
        let loop = UVStreamWriteTests.loop
        let stream: Writer
        let peer: Int32

        init() throws {
            stream = Writer(io: UVStreamWriteTests.io)
            let pair = try #require(UVStream.socketPair())
            #expect(stream.adopt(fd: pair.0))
            peer = pair.1
        }

        /// Reads `count` bytes from the peer, running the loop so queued writes make progress.
        func read(_ count: Int) -> [UInt8] {
            var got: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            var idle = 0
            while got.count < count && idle < 2000 {
                _ = uv_run(loop, UV_RUN_NOWAIT)
                let n = chunk.withUnsafeMutableBytes { Glibc.read(peer, $0.baseAddress, $0.count) }
                if n > 0 {
                    got += chunk[0..<n]
                    idle = 0
                } else {
                    idle += 1
                    usleep(500)
                }
            }
            return got
        }

        func close() {
            stream.close()
            _ = uv_run(loop, UV_RUN_DEFAULT)
            Glibc.close(peer)
        }
    }

    /// Pieces of the given sizes; every byte differs from its neighbours and from the bytes at
    /// the same offset in other pieces, so a byte out of place shows.
    static func pieces(_ sizes: [Int]) -> [[UInt8]] {
        sizes.enumerated().map { i, n in (0..<n).map { UInt8(truncatingIfNeeded: i &* 31 &+ $0 &* 7 &+ 1) } }
    }

    static func write(_ pieces: [[UInt8]], to stream: UVStream) -> UVError? {
        // Separate allocations, so no two pieces are adjacent and IOVecList keeps them apart.
        let copies = pieces.map { p -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(p.count, 1), alignment: 1)
            b.copyBytes(from: p)
            return b
        }
        defer { copies.forEach { $0.deallocate() } }
        return withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: pieces.count) { storage in
            var iov = IOVecList(storage: storage)
            for (c, p) in zip(copies, pieces) { iov.append(c.baseAddress!, p.count) }
            #expect(iov.count == pieces.filter { $0.count > 0 }.count)
            return stream.rawWrite(iov, reports: true)
        }
    }

    @Test(arguments: [
        [3, 1, 4, 6, 11, 23, 925, 35, 40, 250],  // a proxied request head: copied, one write
        [LoopIO.writeCoalesceCapacity - 1, 1],  // exactly the coalescing limit
        [LoopIO.writeCoalesceCapacity, 1],  // one byte over: written as pieces
        [3000, 70000, 20],  // a body piece: zero-copy (may be partly queued)
    ])
    func piecesArriveInOrder(sizes: [Int]) throws {
        let h = try Harness()
        defer { h.close() }
        let p = Self.pieces(sizes)
        #expect(Self.write(p, to: h.stream) == nil)
        #expect(h.read(sizes.reduce(0, +)) == p.flatMap { $0 })
        #expect(h.stream.writeQueueSize == 0)
    }

    /// `IOVecList.gather`, which builds the coalesced piece: every small-piece size (1 to 40
    /// bytes: the word-copy branches, and memcpy from 16) lands where it belongs, and nothing
    /// beyond the total.
    @Test func gatherCopiesEveryPieceSizeInOrder() {
        let p = Self.pieces(Array(1...40) + [300])
        let total = p.reduce(0) { $0 + $1.count }
        let copies = p.map { Array($0) }
        let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: total + 8, alignment: 1)
        defer { dst.deallocate() }
        dst.initializeMemory(as: UInt8.self, repeating: 0xEE)
        let n = withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: copies.count) { storage -> Int in
            var iov = IOVecList(storage: storage)
            // Pointers into separate arrays: kept as separate pieces.
            var bases: [UnsafeMutableRawBufferPointer] = []
            for c in copies {
                let b = UnsafeMutableRawBufferPointer.allocate(byteCount: c.count, alignment: 1)
                b.copyBytes(from: c)
                bases.append(b)
                iov.append(b.baseAddress!, c.count)
            }
            defer { bases.forEach { $0.deallocate() } }
            #expect(iov.count == copies.count)
            return iov.gather(into: dst.baseAddress!)
        }
        #expect(n == total)
        #expect(Array(dst[0..<total]) == p.flatMap { $0 })
        #expect(Array(dst[total...]) == [UInt8](repeating: 0xEE, count: 8))
    }

    /// With a write already queued, a small multi-piece write queues behind it (never jumps it).
    @Test func smallWriteQueuesBehindAPendingOne() throws {
        let h = try Harness()
        defer { h.close() }
        let big = Self.pieces([400_000])
        #expect(Self.write(big, to: h.stream) == nil)
        #expect(h.stream.writeQueueSize > 0)
        let head = Self.pieces([10, 20, 30])
        #expect(Self.write(head, to: h.stream) == nil)
        #expect(h.read(400_060) == big[0] + head.flatMap { $0 })
        #expect(h.stream.pendingWrites == 0)
        #expect(h.stream.writesDone == 2)
    }
}
