import Testing
@testable import M2MProxy

/// The per-loop buffer pool: per-request tables inside head buffers.
@Suite struct BufferPoolTests {
    @Test func headerTablesFollowTheHeadBytes() {
        let pool = BufferPool(headBufferCapacity: 1001)
        let b = pool.takeHeadBuffer()
        defer { pool.give(headBuffer: b) }
        let spans = pool.headerSpans(in: b)
        let kinds = pool.headerKinds(in: b)
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
}
