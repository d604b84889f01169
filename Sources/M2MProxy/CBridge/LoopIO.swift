internal import CLibUV

/// What every stream on one loop shares: the loop, its read buffer (one read at a time per
/// loop), the pooled write requests and head buffers, the TLS state and the resolver. Owned by
/// the loop's worker; `UVStream` holds it strongly (a `let`, so the data path reads it without
/// retain/release) and names nothing above CBridge.
final class LoopIO {
    let loop: UnsafeMutablePointer<uv_loop_t>
    /// One read's bytes at most (the libuv alloc callback hands out the whole buffer).
    static let readBufferSize = 64 * 1024
    var readBufferSize: Int { Self.readBufferSize }
    let readBuffer: UnsafeMutableRawPointer
    /// Small multi-piece writes are copied here and written as one piece (`UVStream.rawWrite`):
    /// on loopback TCP a 10-piece 1.3 KB head costs the kernel ~6 % more as a writev of its pieces
    /// than the copy plus one write (Benchmarks/writev-pieces.c); from ~4 KiB up the copy costs
    /// more than the pieces do, and bodies stay zero-copy. The proxy's heads are copied here
    /// as they are built (`IOVecList`'s flat mode).
    static let writeCoalesceCapacity = 4 * 1024
    let writeCoalesce: UnsafeMutableRawPointer
    /// Above this many queued bytes a writer's source stops reading; below `lowWater` it resumes.
    static let highWater = 256 * 1024
    static let lowWater = 64 * 1024
    let pool: BufferPool
    /// `pool` borrowed: the data path takes and gives buffers without a retain/release pair.
    let poolRef: Unmanaged<BufferPool>
    let tls: TLSLoopState
    let resolver: Resolver
    /// nghttp2's memory for every HTTP/2 session on this loop (client and upstream side).
    let h2Memory = H2Allocator()
    /// HTTP/2 client connections whose responses go out at the end of the loop iteration.
    let h2Flushes: H2FlushQueue

    init(loop: UnsafeMutablePointer<uv_loop_t>, headBufferCapacity: Int) {
        self.loop = loop
        readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
        writeCoalesce = .allocate(byteCount: Self.writeCoalesceCapacity, alignment: 16)
        pool = BufferPool(headBufferCapacity: headBufferCapacity)
        poolRef = .passUnretained(pool)
        tls = TLSLoopState(loop: loop)
        resolver = Resolver(loop: loop)
        h2Flushes = H2FlushQueue(loop: loop)
    }

    deinit {
        readBuffer.deallocate()
        writeCoalesce.deallocate()
    }

    /// Loop time in milliseconds (`uv_now`).
    var now: UInt64 { uv_now(loop) }
}

@available(*, unavailable)
extension LoopIO: Sendable {}
