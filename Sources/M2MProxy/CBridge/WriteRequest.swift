internal import CLibUV

/// One `uv_write_t` plus the bytes it writes: libuv reads the bytes until the write callback
/// (`src/unix/stream.c` `uv_write`), so they live together and are recycled together.
/// Only used for the part of a write that `uv_try_write` could not send at once.
final class WriteRequest {
    static let standardCapacity = 64 * 1024
    /// Most queued remainders are small (a head, an error answer): a 4 KiB class keeps a client
    /// that does not read from pinning 64 KiB per queued response.
    static let smallCapacity = 4 * 1024

    let req: UnsafeMutablePointer<uv_write_t>
    private(set) var buffer: UnsafeMutableRawPointer
    private(set) var capacity: Int
    var count = 0
    /// False for bytes TLS wrote on its own: their completion is not the owner's.
    var reports = true

    init(capacity: Int) {
        req = .allocate(capacity: 1)
        self.capacity = capacity
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        req.deallocate()
        buffer.deallocate()
    }

    func ensureCapacity(_ n: Int) {
        guard n > capacity else { return }
        buffer.deallocate()
        buffer = .allocate(byteCount: n, alignment: 16)
        capacity = n
    }
}

@available(*, unavailable)
extension WriteRequest: Sendable {}

/// Per-loop free list of write requests and head buffers, so steady-state traffic allocates
/// nothing (h2o keeps per-thread pools the same way).
///
/// A head buffer carries the per-request tables after its bytes: the header spans of the head
/// parsed in it and one byte per header for its kind (`kindSlotBytes`: the HTTP layer's
/// `HeaderKind`, bound by the connection that classifies them). A connection holds a head buffer only while a
/// request (or response) is in progress, so an idle keep-alive connection holds no per-request
/// memory at all (h2o's per-request pool: what a request uses dies with it).
///
/// Free buffers that stayed unused for a whole trim interval are released (`trim`): a burst
/// leaves no pool of hundreds of 64 KiB+ buffers behind for good.
final class BufferPool {
    /// Header slots of a head buffer's tables (llhttp reports at most this many per head).
    static let headerSlots = 128
    /// Bytes per slot of the header-kind table: one, which `HeaderKind` fits
    /// (`HeaderKindTests`). Not named here: CBridge names no type of the layers above it.
    static let kindSlotBytes = 1
    /// Free buffers of each kind that `trim` keeps however long they were unused, so a trickle
    /// of requests after a quiet interval still allocates nothing.
    static let keepFree = 2

    private var writeRequests: [WriteRequest] = []
    private var smallWriteRequests: [WriteRequest] = []
    /// Free head buffers as a list threaded through their first word (the last one given back
    /// first): taking and giving one is a few loads and stores, where an array cost a
    /// uniqueness check and bounds checks, four times per proxied request (callgrind).
    private var freeHeadBuffer: UnsafeMutableRawPointer?
    private var freeHeadBuffers = 0
    /// The fewest free entries each list had since the last `trim`: that many were not used
    /// during the whole interval.
    private var writeRequestsLow = 0
    private var smallWriteRequestsLow = 0
    private var headBuffersLow = 0
    /// Head bytes a head buffer holds (its tables follow).
    let headBufferCapacity: Int
    private let spansOffset: Int
    private let kindsOffset: Int
    /// Bytes of one head buffer allocation, tables included.
    let headBufferBytes: Int
    private let maxPooled = 256

    init(headBufferCapacity: Int) {
        self.headBufferCapacity = headBufferCapacity
        let spanAlign = MemoryLayout<HeaderSpan>.alignment
        spansOffset = (headBufferCapacity + spanAlign - 1) / spanAlign * spanAlign
        kindsOffset = spansOffset + Self.headerSlots * MemoryLayout<HeaderSpan>.stride
        headBufferBytes = kindsOffset + Self.headerSlots * Self.kindSlotBytes
        writeRequests.reserveCapacity(maxPooled)
        smallWriteRequests.reserveCapacity(maxPooled)
    }

    deinit {
        Self.deallocateHeadBuffers(from: freeHeadBuffer)
    }

    /// The next free head buffer after `b` (in a free buffer's first word).
    @inline(__always)
    private static func next(after b: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        b.load(as: UnsafeMutableRawPointer?.self)
    }

    private static func deallocateHeadBuffers(from first: UnsafeMutableRawPointer?) {
        var b = first
        while let p = b {
            b = next(after: p)
            p.deallocate()
        }
    }

    func takeWriteRequest(capacity: Int) -> WriteRequest {
        if capacity <= WriteRequest.smallCapacity {
            if let r = smallWriteRequests.popLast() {
                if smallWriteRequests.count < smallWriteRequestsLow { smallWriteRequestsLow = smallWriteRequests.count }
                r.count = 0
                return r
            }
            return WriteRequest(capacity: WriteRequest.smallCapacity)
        }
        if capacity <= WriteRequest.standardCapacity, let r = writeRequests.popLast() {
            if writeRequests.count < writeRequestsLow { writeRequestsLow = writeRequests.count }
            r.count = 0
            return r
        }
        return WriteRequest(capacity: max(capacity, WriteRequest.standardCapacity))
    }

    func give(_ r: WriteRequest) {
        if r.capacity == WriteRequest.smallCapacity && smallWriteRequests.count < maxPooled {
            smallWriteRequests.append(r)
        } else if r.capacity == WriteRequest.standardCapacity && writeRequests.count < maxPooled {
            writeRequests.append(r)
        }
    }

    func takeHeadBuffer() -> UnsafeMutableRawPointer {
        if let b = freeHeadBuffer {
            freeHeadBuffer = Self.next(after: b)
            freeHeadBuffers -= 1
            if freeHeadBuffers < headBuffersLow { headBuffersLow = freeHeadBuffers }
            return b
        }
        let b = UnsafeMutableRawPointer.allocate(byteCount: headBufferBytes, alignment: 16)
        (b + spansOffset).bindMemory(to: HeaderSpan.self, capacity: Self.headerSlots)
        return b
    }

    func give(headBuffer: UnsafeMutableRawPointer) {
        if freeHeadBuffers < maxPooled {
            headBuffer.storeBytes(of: freeHeadBuffer, as: UnsafeMutableRawPointer?.self)
            freeHeadBuffer = headBuffer
            freeHeadBuffers += 1
        } else {
            headBuffer.deallocate()
        }
    }

    /// The header-span table of a head buffer (`headerSlots` entries).
    func headerSpans(in headBuffer: UnsafeMutableRawPointer) -> UnsafeMutablePointer<HeaderSpan> {
        (headBuffer + spansOffset).assumingMemoryBound(to: HeaderSpan.self)
    }

    /// The header-kind table of a head buffer (`headerSlots` slots of `kindSlotBytes`), for
    /// the caller to bind to its kind type.
    func headerKinds(in headBuffer: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        headBuffer + kindsOffset
    }

    /// Bytes held by free buffers (the `m2m_buffer_pool_bytes` gauge).
    var freeBytes: Int {
        freeHeadBuffers * headBufferBytes + writeRequests.count * WriteRequest.standardCapacity
            + smallWriteRequests.count * WriteRequest.smallCapacity
    }

    /// Releases the free buffers that were not taken since the last call (beyond `keepFree` of
    /// each kind), oldest first. Returns the bytes released. Called on a timer, never per request.
    @discardableResult
    func trim() -> Int {
        var released = 0
        let heads = min(headBuffersLow, freeHeadBuffers - Self.keepFree)
        if heads > 0 {
            // Taken and given at the front of the list: the oldest are last. The list is cut
            // after the ones kept.
            let kept = freeHeadBuffers - heads
            if kept == 0 {
                Self.deallocateHeadBuffers(from: freeHeadBuffer)
                freeHeadBuffer = nil
            } else {
                var last = freeHeadBuffer.unsafelyUnwrapped
                for _ in 1..<kept { last = Self.next(after: last).unsafelyUnwrapped }
                Self.deallocateHeadBuffers(from: Self.next(after: last))
                last.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
            }
            freeHeadBuffers = kept
            released += heads * headBufferBytes
        }
        let writes = min(writeRequestsLow, writeRequests.count - Self.keepFree)
        if writes > 0 {
            writeRequests.removeFirst(writes)
            released += writes * WriteRequest.standardCapacity
        }
        let smalls = min(smallWriteRequestsLow, smallWriteRequests.count - Self.keepFree)
        if smalls > 0 {
            smallWriteRequests.removeFirst(smalls)
            released += smalls * WriteRequest.smallCapacity
        }
        headBuffersLow = freeHeadBuffers
        writeRequestsLow = writeRequests.count
        smallWriteRequestsLow = smallWriteRequests.count
        if released > 0 {
            // free() keeps most of it in the allocator's arenas (glibc trims only the top of a
            // heap, and lowers no mmap threshold): hand the free pages back to the kernel.
            _ = malloc_trim(0)
        }
        return released
    }
}

@available(*, unavailable)
extension BufferPool: Sendable {}
