// libFuzzer target: bytes from an HTTP/2 client into the server-side `H2Session` (nghttp2 1.52
// behind CBridge), driven the way `H2Connection` drives it: received bytes are fed in reads,
// every callback goes to a delegate that behaves like `H2StreamBridge` (gathers fields up to a
// limit, classifies them with `H2Names`/`GRPCStatus`/`GRPCTimeout`, acknowledges or holds DATA,
// answers streams with HEADERS and a body through the data provider, resets some), and what
// the session wants sent is flushed after each read.
//
// Byte 0 of the input: bit 0 = prepend the client preface and an empty SETTINGS frame (so that
// mutations explore frames, not the 24 magic octets), bits 1-3 = read size (0 = one read, else
// 2^n bytes), bit 4 = hold DATA (no `consume`) until the stream ends, bit 5 = answer streams
// at once (else on END_STREAM), bit 6 = reset every third stream.
//
// Invariants: no crash or ASan report; stream ids the session reports are positive and odd
// (client-initiated); the DATA it hands over never exceeds the bytes fed in; a field the
// delegate sees is within nghttp2's own bounds; once `receive` says the connection must close,
// flushing ends (no endless output) and later calls are harmless.
@testable import M2MProxy

private let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]

/// nghttp2's memory, as a worker loop's (`LoopIO.h2Memory`): one for the whole run, so blocks
/// freed by one input's session are handed out again to the next one's.
nonisolated(unsafe) private let h2Memory = H2Allocator()

private final class Stream {
    var fieldBytes = 0
    var headersDone = false
    var ended = false
    var held = 0
    var answered = false
    var bodyLeft = 0
    var isGRPC = false
    var deadlineMs = 0
}

private final class StubDelegate: H2SessionDelegate {
    unowned(unsafe) var session: H2Session! = nil
    var streams: [Int32: Stream] = [:]
    var holdData = false
    var answerAtOnce = false
    var resetSome = false
    var began = 0
    var dataBytes = 0
    let headerLimit = 4096

    override func h2StreamBegan(_ id: Int32) {
        check(id > 0 && id & 1 == 1, "stream id not client-initiated")
        began += 1
        streams[id] = Stream()
    }

    override func h2Field(_ id: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        check(name.count <= 65536 && value.count <= 65536, "field beyond nghttp2's bound")
        guard let s = streams[id] else { return true }
        if H2Names.equal(name, H2Names.contentType) && GRPCStatus.isGRPC(contentType: value) { s.isGRPC = true }
        if H2Names.equal(name, H2Names.grpcTimeout) {
            let ms = GRPCTimeout.milliseconds(value)
            if let ms { check(ms >= 1, "grpc-timeout below 1 ms") }
            s.deadlineMs = ms ?? 0
        }
        _ = H2Names.isConnectionSpecific(name)
        // The bridge's bound: fields past the limit are no longer kept.
        if s.fieldBytes <= headerLimit { s.fieldBytes += name.count + value.count + 4 }
        return true
    }

    override func h2HeadersDone(_ id: Int32, endStream: Bool) {
        guard let s = streams[id] else { return }
        s.headersDone = true
        if endStream { s.ended = true }
        if resetSome && began % 3 == 0 {
            session.resetStream(id, code: H2ErrorCode.refusedStream)
            return
        }
        if answerAtOnce || endStream { answer(id, s) }
    }

    override func h2Data(_ id: Int32, _ data: UnsafeRawBufferPointer) {
        dataBytes += data.count
        guard let s = streams[id], holdData else {
            session.consume(id, data.count)
            return
        }
        s.held += data.count
    }

    override func h2BodyEnded(_ id: Int32) {
        guard let s = streams[id] else { return }
        s.ended = true
        if s.held > 0 {
            session.consume(id, s.held)
            s.held = 0
        }
        if !s.answered { answer(id, s) }
    }

    override func h2ReadBody(_ id: Int32, into: UnsafeMutableRawBufferPointer) -> (count: Int, eof: Bool)? {
        guard let s = streams[id] else { return (0, true) }
        let n = min(s.bodyLeft, into.count)
        for i in 0..<n { into[i] = UInt8(truncatingIfNeeded: i) }
        s.bodyLeft -= n
        return (n, s.bodyLeft == 0)
    }

    override func h2StreamClosed(_ id: Int32, errorCode: UInt32) {
        streams[id] = nil
    }

    /// A response as the bridge submits one: `:status`, a few fields, a body of up to 40 KiB
    /// (several DATA frames) or a trailers-only gRPC status.
    private func answer(_ id: Int32, _ s: Stream) {
        s.answered = true
        session.fields.removeAll()
        func add(_ n: [UInt8], _ v: [UInt8]) {
            n.withUnsafeBytes { nb in v.withUnsafeBytes { _ = session.fields.add(name: nb, value: $0) } }
        }
        add(H2Names.status, Array("200".utf8))
        add(H2Names.contentType, Array((s.isGRPC ? "application/grpc" : "text/plain").utf8))
        if s.isGRPC {
            add(H2Names.grpcStatus, Array("4".utf8))
            add(H2Names.grpcMessage, GRPCStatus.percentEncoded("deadline \(s.deadlineMs) ms ✓"))
            _ = session.submitResponse(id, noBody: true)
            return
        }
        s.bodyLeft = (Int(id) * 7919) % 40000
        _ = session.submitResponse(id, noBody: s.bodyLeft == 0)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzH2Frames(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let control = data[0]
    var input = control & 1 != 0 ? preface : []
    input += UnsafeBufferPointer(start: data + 1, count: size - 1)

    guard let session = H2Session(maxConcurrentStreams: 8, maxHeaderListSize: 4096, memory: h2Memory) else { return 0 }
    let delegate = StubDelegate()
    delegate.session = session
    delegate.holdData = control & 0x10 != 0
    delegate.answerAtOnce = control & 0x20 != 0
    delegate.resetSome = control & 0x40 != 0
    session.delegate = delegate

    let shift = Int(control >> 1) & 7
    let step = shift == 0 ? max(input.count, 1) : 1 << shift
    var sent = 0
    func flush() {
        var chunks = 0
        session.flush { _, n in
            sent += n
            chunks += 1
        }
        check(chunks < 100_000, "flush does not end")
    }
    flush()
    var open = true
    input.withUnsafeBytes { all in
        var off = 0
        while off < all.count {
            let n = min(step, all.count - off)
            let ok = session.receive(UnsafeRawBufferPointer(rebasing: all[off..<(off + n)]))
            flush()
            off += n
            if !ok {
                open = false
                break
            }
            // As the bridge does when a pair drains: resume the bodies of answered streams.
            for (id, s) in delegate.streams where s.answered { session.resumeBody(id) }
            flush()
        }
    }
    check(delegate.dataBytes <= input.count, "more DATA than was received")
    if open {
        session.goAway()
        flush()
    }
    _ = session.isAlive
    session.delegate = nil
    return 0
}

private func check(_ ok: Bool, _ what: StaticString) {
    if !ok { fatalError("invariant: \(what)") }
}
