internal import CNGHTTP2
internal import Glibc

/// nghttp2's memory on one loop (`nghttp2_mem`): blocks of a few size classes kept on free
/// lists, so the five allocations nghttp2 makes per stream (its stream object, the outbound
/// HEADERS and DATA items, the copied response fields, a header buffer) are a pop and a push
/// once the first streams ran, not glibc `malloc`/`free` per request (Benchmarks/malloc-count.sh
/// `PROTOCOL=h2`: 5 allocations per request before, none after). Like `BufferPool`, it belongs
/// to one loop: every session of the loop uses it from the loop's thread only, and each session
/// holds it strongly, so it outlives the last `nghttp2_session_del` that frees into it.
///
/// Each block starts with a 16-byte header holding its class and the size asked for (nghttp2's
/// `free` and `realloc` pass no size); the pointer handed out follows it, 16-byte aligned as
/// glibc's. Blocks over the largest class go to glibc directly. What the free lists keep is
/// bounded (`maxKeptBytes`): beyond it a freed block goes back to glibc.
final class H2Allocator {
    /// Class c's blocks are `64 << c` bytes (64 B … 8 KiB), 16 of them the header.
    static let classCount = 8
    static let header = 16
    /// The class stored in a block too large for any: allocated by glibc, freed to it.
    static let oversize: Int = -1
    /// At most this many bytes wait on the free lists (per loop).
    static let maxKeptBytes = 1 << 20

    /// The free lists' heads (a raw area: stored properties of a class would be checked for
    /// exclusive access on every use).
    private let heads: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private let kept: UnsafeMutablePointer<Int>
    /// The table nghttp2 calls through; `mem_user_data` is this allocator.
    private(set) var mem = nghttp2_mem()

    init() {
        heads = .allocate(capacity: Self.classCount)
        heads.initialize(repeating: nil, count: Self.classCount)
        kept = .allocate(capacity: 1)
        kept.initialize(to: 0)
        mem.mem_user_data = Unmanaged.passUnretained(self).toOpaque()
        mem.malloc = { size, ud in allocator(ud)._withUnsafeGuaranteedRef { $0.allocate(size) } }
        mem.free = { p, ud in allocator(ud)._withUnsafeGuaranteedRef { $0.free(p) } }
        mem.calloc = { n, size, ud in
            let (bytes, overflow) = n.multipliedReportingOverflow(by: size)
            if overflow { return nil }
            let p = allocator(ud)._withUnsafeGuaranteedRef { $0.allocate(bytes) }
            if let p { memset(p, 0, bytes) }
            return p
        }
        mem.realloc = { p, size, ud in allocator(ud)._withUnsafeGuaranteedRef { $0.reallocate(p, size) } }
    }

    deinit {
        for c in 0..<Self.classCount {
            var b = heads[c]
            while let block = b {
                b = block.load(as: UnsafeMutableRawPointer?.self)
                Glibc.free(block)
            }
        }
        heads.deallocate()
        kept.deallocate()
    }

    /// Bytes waiting on the free lists.
    var keptBytes: Int { kept.pointee }

    // The arithmetic below wraps (`&+`, `&<<`) instead of trapping: the values are bounded (a
    // class is 0..<classCount, sizes come from nghttp2), and Swift's checked `<<` and `+` were
    // most of the instructions of a pop or a push (callgrind: ~30 per `free`, ~39 per
    // `allocate`, five and eight of them per HTTP/2 request).

    /// The class for `size` usable bytes, or `oversize`.
    @inline(__always)
    static func sizeClass(_ size: Int) -> Int {
        let n = size &+ header
        if n <= 64 { return 0 }
        let c = Int.bitWidth &- (n &- 1).leadingZeroBitCount &- 6
        return c < classCount ? c : oversize
    }

    /// Bytes of a class-`c` block (`c` in 0..<classCount).
    @inline(__always)
    static func blockSize(_ c: Int) -> Int { 64 &<< c }

    /// Usable bytes of a class-`c` block.
    @inline(__always)
    static func usable(_ c: Int) -> Int { blockSize(c) &- header }

    func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        let c = Self.sizeClass(size)
        let block: UnsafeMutableRawPointer
        if c == Self.oversize {
            guard size < Int.max / 2, let b = malloc(size &+ Self.header) else { return nil }
            block = b
        } else if let b = heads[c] {
            heads[c] = b.load(as: UnsafeMutableRawPointer?.self)
            kept.pointee &-= Self.usable(c)
            block = b
        } else {
            guard let b = malloc(Self.blockSize(c)) else { return nil }
            block = b
        }
        block.storeBytes(of: c, as: Int.self)
        // The size asked for: an oversize block's usable size, for `reallocate`.
        block.storeBytes(of: size, toByteOffset: 8, as: Int.self)
        return block + Self.header
    }

    func free(_ p: UnsafeMutableRawPointer?) {
        guard let p else { return }
        let block = p - Self.header
        let c = block.load(as: Int.self)
        guard c != Self.oversize, kept.pointee &+ Self.usable(c) <= Self.maxKeptBytes else {
            Glibc.free(block)
            return
        }
        block.storeBytes(of: heads[c], as: UnsafeMutableRawPointer?.self)
        heads[c] = block
        kept.pointee &+= Self.usable(c)
    }

    func reallocate(_ p: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        guard let p else { return allocate(size) }
        let c = (p - Self.header).load(as: Int.self)
        if c != Self.oversize && size <= Self.usable(c) { return p }
        guard let q = allocate(size) else { return nil }
        let old = c == Self.oversize ? (p - Self.header).load(fromByteOffset: 8, as: Int.self) : Self.usable(c)
        q.copyMemory(from: p, byteCount: min(old, size))
        free(p)
        return q
    }

    /// Runs `body` with the table for `nghttp2_session_*_new3` (which copies it).
    func withMem<R>(_ body: (UnsafeMutablePointer<nghttp2_mem>) -> R) -> R {
        body(&mem)
    }
}

/// The allocator behind `mem_user_data`, borrowed (no retain/release per call).
private func allocator(_ p: UnsafeMutableRawPointer?) -> Unmanaged<H2Allocator> {
    Unmanaged<H2Allocator>.fromOpaque(p!)
}

@available(*, unavailable)
extension H2Allocator: Sendable {}
