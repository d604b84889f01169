import Testing
@testable import M2MProxy

/// nghttp2's per-loop allocator: size classes, blocks reused from the free lists, `realloc`
/// keeping the bytes across classes and past the largest, `calloc` zeroing, and the bound on
/// what the free lists keep. The HTTP/2 suites drive it through real sessions (and ASan checks
/// them in CI).
@Suite struct H2AllocatorTests {
    @Test func sizeClassesArePowersOfTwoWithTheHeader() {
        #expect(H2Allocator.sizeClass(0) == 0)
        #expect(H2Allocator.sizeClass(48) == 0)
        #expect(H2Allocator.sizeClass(49) == 1)
        #expect(H2Allocator.sizeClass(112) == 1)
        #expect(H2Allocator.sizeClass(113) == 2)
        #expect(H2Allocator.sizeClass(8176) == 7)
        #expect(H2Allocator.sizeClass(8177) == H2Allocator.oversize)
        for c in 0..<H2Allocator.classCount {
            #expect(H2Allocator.sizeClass(H2Allocator.usable(c)) == c)
        }
    }

    @Test func aFreedBlockIsHandedOutAgainForItsClass() throws {
        let a = H2Allocator()
        let p = try #require(a.allocate(100))
        #expect(Int(bitPattern: p) % 16 == 0)
        a.free(p)
        #expect(a.keptBytes == H2Allocator.usable(1))
        #expect(a.allocate(60) == p, "same class (112 usable bytes): the freed block comes back")
        #expect(a.keptBytes == 0)
        let q = try #require(a.allocate(100))
        #expect(q != p)
        a.free(q)
        a.free(p)
        a.free(nil)
    }

    @Test func reallocKeepsTheBytes() throws {
        let a = H2Allocator()
        var p = try #require(a.allocate(40))
        for i in 0..<40 { p.storeBytes(of: UInt8(i), toByteOffset: i, as: UInt8.self) }
        #expect(a.reallocate(p, 48) == p, "still fits its class: the block stays")
        for size in [200, 5000, 20000, 100000] {
            p = try #require(a.reallocate(p, size))
            for i in 0..<40 { #expect(p.load(fromByteOffset: i, as: UInt8.self) == UInt8(i), "size \(size), byte \(i)") }
        }
        // Shrinking an oversize block copies only what the new size holds.
        p = try #require(a.reallocate(p, 30))
        for i in 0..<30 { #expect(p.load(fromByteOffset: i, as: UInt8.self) == UInt8(i)) }
        a.free(p)
        let fresh = try #require(a.reallocate(nil, 10))
        a.free(fresh)
    }

    @Test func callocZeroesReusedBlocks() throws {
        let a = H2Allocator()
        let dirty = try #require(a.allocate(200))
        dirty.initializeMemory(as: UInt8.self, repeating: 0xAB, count: 200)
        a.free(dirty)
        let z = try #require(a.mem.calloc(25, 8, a.mem.mem_user_data))
        #expect(z == dirty)
        for i in 0..<200 { #expect(z.load(fromByteOffset: i, as: UInt8.self) == 0) }
        a.mem.free(z, a.mem.mem_user_data)
        #expect(a.mem.calloc(Int.max, 2, a.mem.mem_user_data) == nil, "an overflowing size is refused")
    }

    /// A size whose header would wrap `size_t` is refused before any free list is looked at
    /// (it would have wrapped into class 0 and been served a 48-byte block).
    @Test func aSizeThatWouldWrapIsRefused() throws {
        let a = H2Allocator()
        let small = try #require(a.allocate(10))
        a.free(small)
        #expect(a.allocate(-8) == nil, "SIZE_MAX - 7")
        #expect(a.keptBytes == H2Allocator.usable(0), "the kept block is still there")
        #expect(a.mem.calloc(1, -8, a.mem.mem_user_data) == nil)
    }

    @Test func theFreeListsKeepABoundedAmount() throws {
        let a = H2Allocator()
        let n = H2Allocator.maxKeptBytes / H2Allocator.usable(7) + 10
        let blocks = try (0..<n).map { _ in try #require(a.allocate(8000)) }
        for b in blocks { a.free(b) }
        #expect(a.keptBytes <= H2Allocator.maxKeptBytes)
        #expect(a.keptBytes > H2Allocator.maxKeptBytes - H2Allocator.usable(7))
    }
}
