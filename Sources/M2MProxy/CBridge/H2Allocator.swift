internal import CNGHTTP2

/// nghttp2's memory on one loop (`nghttp2_mem`): blocks of a few size classes kept on free
/// lists, so the five allocations nghttp2 makes per stream (its stream object, the outbound
/// HEADERS and DATA items, the copied response fields, a header buffer) are a pop and a push
/// once the first streams ran, not glibc `malloc`/`free` per request (Benchmarks/malloc-count.sh
/// `PROTOCOL=h2`: 5 allocations per request before, none after). Like `BufferPool`, it belongs
/// to one loop: every session of the loop uses it from the loop's thread only, and each session
/// holds it strongly, so it outlives the last `nghttp2_session_del` that frees into it.
///
/// Each block starts with a 16-byte header holding its class (and, for a block over every
/// class, the size asked for: nghttp2's `free` and `realloc` pass no size); the pointer handed
/// out follows it, 16-byte aligned as glibc's. Blocks over the largest class go to glibc
/// directly. What the free lists keep is bounded (`maxKeptBytes`): beyond it a freed block goes
/// back to glibc. The pops and pushes themselves are C (`m2m_h2_malloc` and the others in
/// CNGHTTP2's shim.h), which nghttp2 calls straight through the table's pointers.
final class H2Allocator {
    /// Class c's blocks are `64 << c` bytes (64 B … 8 KiB), 16 of them the header.
    static let classCount = Int(M2M_H2_CLASSES)
    static let header = Int(M2M_H2_HEADER)
    /// The class stored in a block too large for any: allocated by glibc, freed to it.
    static let oversize = Int(M2M_H2_OVERSIZE)
    /// At most this many bytes wait on the free lists (per loop).
    static let maxKeptBytes = Int(M2M_H2_MAX_KEPT)

    /// The free lists' heads and the bytes they keep (C's, `m2m_h2_pool`).
    private let pool: UnsafeMutablePointer<m2m_h2_pool>
    /// The table nghttp2 calls through; `mem_user_data` is the pool.
    private(set) var mem = nghttp2_mem()

    init() {
        pool = .allocate(capacity: 1)
        pool.initialize(to: m2m_h2_pool())
        mem.mem_user_data = UnsafeMutableRawPointer(pool)
        mem.malloc = m2m_h2_malloc
        mem.free = m2m_h2_free
        mem.calloc = m2m_h2_calloc
        mem.realloc = m2m_h2_realloc
    }

    deinit {
        m2m_h2_drain(pool)
        pool.deallocate()
    }

    /// Bytes waiting on the free lists.
    var keptBytes: Int { pool.pointee.kept }

    /// The class for `size` usable bytes, or `oversize`.
    static func sizeClass(_ size: Int) -> Int { m2m_h2_class(size) }

    /// Usable bytes of a class-`c` block.
    static func usable(_ c: Int) -> Int { m2m_h2_usable(c) }

    func allocate(_ size: Int) -> UnsafeMutableRawPointer? { m2m_h2_malloc(size, mem.mem_user_data) }

    func free(_ p: UnsafeMutableRawPointer?) { m2m_h2_free(p, mem.mem_user_data) }

    func reallocate(_ p: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        m2m_h2_realloc(p, size, mem.mem_user_data)
    }

    /// Runs `body` with the table for `nghttp2_session_*_new3` (which copies it).
    func withMem<R>(_ body: (UnsafeMutablePointer<nghttp2_mem>) -> R) -> R {
        body(&mem)
    }
}

@available(*, unavailable)
extension H2Allocator: Sendable {}
