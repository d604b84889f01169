import Testing
@testable import M2MProxy

/// The per-loop buffer pool: per-request tables inside head buffers, and trimming of buffers a
/// whole interval left unused.
@Suite struct BufferPoolTests {
    @Test func headerTablesFollowTheHeadBytes() {
        let pool = BufferPool(headBufferCapacity: 1001)
        let b = pool.takeHeadBuffer()
        defer { pool.give(headBuffer: b) }
        let spans = pool.headerSpans(in: b)
        let kinds = pool.headerKinds(in: b).bindMemory(to: HeaderKind.self, capacity: BufferPool.headerSlots)
        spans[0] = HeaderSpan(name: .empty, value: .empty)
        spans[BufferPool.headerSlots - 1] = HeaderSpan(name: .empty, value: .empty)
        kinds[BufferPool.headerSlots - 1] = .host
        // A full head does not reach the tables.
        b.initializeMemory(as: UInt8.self, repeating: 0xFF, count: pool.headBufferCapacity)
        #expect(UnsafeRawPointer(spans) >= UnsafeRawPointer(b + pool.headBufferCapacity))
        #expect(Int(bitPattern: spans) % MemoryLayout<HeaderSpan>.alignment == 0)
        #expect(spans[0].name.count == 0 && spans[BufferPool.headerSlots - 1].value.count == 0)
        #expect(kinds[BufferPool.headerSlots - 1] == .host)
        #expect(UnsafeRawPointer(kinds + BufferPool.headerSlots) <= UnsafeRawPointer(b + pool.headBufferBytes))
    }

    @Test func trimReleasesOnlyBuffersUnusedForAWholeInterval() {
        let pool = BufferPool(headBufferCapacity: 4096)
        // A burst: 10 in use at once, then all free.
        let burst = (0..<10).map { _ in pool.takeHeadBuffer() }
        for b in burst { pool.give(headBuffer: b) }
        #expect(pool.freeBytes == 10 * pool.headBufferBytes)
        // The interval of the burst: every free buffer was taken during it, none is released.
        #expect(pool.trim() == 0)
        // Steady traffic of two at a time during the next interval: 8 stayed unused.
        let a = pool.takeHeadBuffer(), b = pool.takeHeadBuffer()
        pool.give(headBuffer: a)
        pool.give(headBuffer: b)
        #expect(pool.trim() == 8 * pool.headBufferBytes)
        #expect(pool.freeBytes == 2 * pool.headBufferBytes)
        // Quiet: `keepFree` buffers stay for the next trickle.
        #expect(pool.trim() == 0)
        #expect(pool.freeBytes == BufferPool.keepFree * pool.headBufferBytes)
    }

    /// Free head buffers are a list through their first word: a buffer given back is the next
    /// one taken, and `trim` releases the oldest, so the buffers of the steady traffic stay.
    @Test func headBuffersComeBackMostRecentFirstAndTrimKeepsThem() {
        let pool = BufferPool(headBufferCapacity: 4096)
        let burst = (0..<6).map { _ in pool.takeHeadBuffer() }
        for b in burst { pool.give(headBuffer: b) }
        let a = pool.takeHeadBuffer()
        #expect(a == burst[5])
        a.initializeMemory(as: UInt8.self, repeating: 0xAB, count: pool.headBufferCapacity)
        let b = pool.takeHeadBuffer()
        #expect(b == burst[4])
        pool.give(headBuffer: b)
        pool.give(headBuffer: a)
        #expect(pool.freeBytes == 6 * pool.headBufferBytes)
        _ = pool.trim()
        // Two were taken during the interval: four stayed unused and go, oldest first.
        #expect(pool.trim() == 4 * pool.headBufferBytes)
        let kept = Set([pool.takeHeadBuffer(), pool.takeHeadBuffer()])
        #expect(kept == Set([a, b]))
        #expect(pool.freeBytes == 0)
        for k in kept { pool.give(headBuffer: k) }
        // Then a fresh one is allocated once the list is empty again.
        let x = pool.takeHeadBuffer(), y = pool.takeHeadBuffer(), z = pool.takeHeadBuffer()
        #expect(Set([x, y]) == kept && !kept.contains(z))
        for p in [x, y, z] { pool.give(headBuffer: p) }
        #expect(pool.freeBytes == 3 * pool.headBufferBytes)
    }

    @Test func trimReleasesWriteRequestsToo() {
        let pool = BufferPool(headBufferCapacity: 4096)
        let big = (0..<5).map { _ in pool.takeWriteRequest(capacity: WriteRequest.standardCapacity) }
        let small = (0..<6).map { _ in pool.takeWriteRequest(capacity: 10) }
        for r in big + small { pool.give(r) }
        #expect(pool.freeBytes == 5 * WriteRequest.standardCapacity + 6 * WriteRequest.smallCapacity)
        _ = pool.trim()
        let released = pool.trim()
        #expect(released == 3 * WriteRequest.standardCapacity + 4 * WriteRequest.smallCapacity)
        #expect(pool.freeBytes == BufferPool.keepFree * (WriteRequest.standardCapacity + WriteRequest.smallCapacity))
    }
}
