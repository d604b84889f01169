import CLibUV
import Testing
@testable import M2MProxy

/// `IOVecList`'s flat mode: pieces are copied into the flat buffer as they are appended, and a
/// piece that no longer fits turns the bytes so far into the first iovec; the bytes are those of
/// the same pieces as iovecs, in order, whatever the flat capacity.
@Suite struct IOVecTests {
    /// The bytes `build` appends, written by a list in flat mode with `flatCapacity` bytes
    /// (sealed, as `UVStream.write` requires), and how many pieces the list ends with.
    static func flatBytes(capacity: Int, flatCapacity: Int, _ build: (inout IOVecList) -> Void) -> (bytes: [UInt8], pieces: Int) {
        let flat = UnsafeMutableRawPointer.allocate(byteCount: max(flatCapacity, 1), alignment: 16)
        defer { flat.deallocate() }
        return withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: capacity) { storage in
            var iov = IOVecList(storage: storage, flat: flat, flatCapacity: flatCapacity)
            build(&iov)
            #expect(!iov.isSealed || iov.totalBytes > flatCapacity)
            iov.seal()
            #expect(iov.isSealed)
            var bytes: [UInt8] = []
            for i in 0..<iov.count {
                bytes += UnsafeRawBufferPointer(start: iov.bufs[i].base, count: iov.bufs[i].len)
            }
            #expect(bytes.count == iov.totalBytes)
            return (bytes, iov.count)
        }
    }

    /// A head built in flat mode is the head built as pieces, for a flat capacity that takes it
    /// all, one that runs out in its middle, and none at all.
    static func expectFlatMatches(_ expected: String, capacity: Int, _ build: (inout IOVecList) -> Void) {
        for flatCapacity in [4096, expected.utf8.count / 2, 0] {
            let (bytes, _) = flatBytes(capacity: capacity, flatCapacity: flatCapacity, build)
            #expect(String(decoding: bytes, as: UTF8.self) == expected, "flat capacity \(flatCapacity)")
        }
    }

    @Test func flatCopiesEveryPieceSizeInOrder() {
        let p = UVStreamWriteTests.pieces(Array(1...40) + [300])
        let copies = p.map { Array($0) }
        let total = p.reduce(0) { $0 + $1.count }
        let (bytes, pieces) = Self.flatBytes(capacity: 4, flatCapacity: 4096) { iov in
            for c in copies { c.withUnsafeBytes { iov.append($0.baseAddress!, $0.count) } }
            // Empty pieces add nothing.
            iov.append(UnsafeRawPointer(bitPattern: 1)!, 0)
        }
        #expect(bytes == p.flatMap { $0 })
        #expect(bytes.count == total && pieces == 1)
    }

    @Test func aPieceThatDoesNotFitEndsFlatMode() {
        let p = UVStreamWriteTests.pieces([10, 20, 30, 5])
        let blocks = p.map { piece -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: piece.count, alignment: 1)
            b.copyBytes(from: piece)
            return b
        }
        defer { blocks.forEach { $0.deallocate() } }
        // 10 + 20 fit in 35 bytes; the 30-byte piece does not: the copied 30 bytes become the
        // first piece, then the 30 and the 5 are pieces of their own.
        let (bytes, pieces) = Self.flatBytes(capacity: 3, flatCapacity: 35) { iov in
            for b in blocks { iov.append(b.baseAddress!, b.count) }
        }
        #expect(bytes == p.flatMap { $0 })
        #expect(pieces == 3)
        // Nothing fits: the pieces as they are.
        let (none, nonePieces) = Self.flatBytes(capacity: 4, flatCapacity: 0) { iov in
            for b in blocks { iov.append(b.baseAddress!, b.count) }
        }
        #expect(none == p.flatMap { $0 } && nonePieces == 4)
    }

    @Test func anEmptyFlatListSealsToNoPiece() {
        let (bytes, pieces) = Self.flatBytes(capacity: 1, flatCapacity: 64) { _ in }
        #expect(bytes.isEmpty && pieces == 0)
    }
}
