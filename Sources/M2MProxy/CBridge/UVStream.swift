internal import CLibUV
internal import Glibc

/// A TCP stream with one timer, owned by its loop: the base of client, upstream and token
/// endpoint connections. This file and its siblings in CBridge/ are the only places that turn
/// `handle->data` back into Swift objects.
///
/// Lifetime (libuv `docs/src/handle.rst`): the object is retained once when its handles are
/// initialised and released when both handles' close callbacks have run, so callbacks can never
/// see a freed owner. Callbacks borrow it with `_withUnsafeGuaranteedRef` (no ARC traffic per
/// event; callgrind showed a pair per callback otherwise).
///
/// Subclasses override the `on…` hooks; dispatch is a vtable call, not an existential.
class UVStream {
    /// The loop's shared buffers, pools and TLS state. Strong, and a `let`: methods then use it
    /// without retain/release (an `unowned(unsafe)` reference cost a pair at each use, 12 pairs
    /// per proxied request under callgrind). The loop outlives its connections, so this costs
    /// one retain per connection and no cycle that matters.
    let io: LoopIO
    let tcp: UnsafeMutablePointer<uv_tcp_t>
    private let timer: UnsafeMutablePointer<uv_timer_t>
    private let connectReq: UnsafeMutablePointer<uv_connect_t>
    private let shutdownReq: UnsafeMutablePointer<uv_shutdown_t>
    private var shutdownStarted = false
    private var openHandles = 2
    private(set) var isClosing = false
    private(set) var isReading = false
    /// Whether libuv reads the socket. The same as `isReading` without TLS; with TLS it differs
    /// during a handshake and while decrypted bytes wait for the owner (`TLSSession`).
    private var socketReading = false
    /// TLS on this stream, nil for plain TCP (`UVStream+TLS.swift`).
    var tls: TLSSession?
    /// Loop time (ms) of the current deadline, 0 = none; and what the libuv timer is armed for.
    private var deadline: UInt64 = 0
    private var armedFor: UInt64 = 0
    /// Writes handed to `uv_write` whose callback has not run yet.
    private(set) var pendingWrites = 0
    /// Bytes accepted by `write` since the stream was created (a request's bytes_out is the
    /// difference between its start and end).
    private(set) var bytesWritten: UInt64 = 0
    /// Bytes the owner delivered by other means than this stream (an HTTP/2 stream's inner
    /// connection hands its response over directly), counted as written.
    @inline(__always)
    func countWritten(_ n: Int) { bytesWritten &+= UInt64(n) }

    init(io: LoopIO) {
        self.io = io
        tcp = .allocate(capacity: 1)
        timer = .allocate(capacity: 1)
        connectReq = .allocate(capacity: 1)
        shutdownReq = .allocate(capacity: 1)
        uv_tcp_init(io.loop, tcp)
        uv_timer_init(io.loop, timer)
        let me = Unmanaged.passRetained(self).toOpaque()
        tcp.pointee.data = me
        timer.pointee.data = me
        connectReq.pointee.data = me
        shutdownReq.pointee.data = me
    }

    deinit {
        tcp.deallocate()
        timer.deallocate()
        connectReq.deallocate()
        shutdownReq.deallocate()
    }

    var stream: UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_stream_t.self)
    }

    /// Bytes queued in libuv for this stream: the backpressure signal (`uv__write_req_finish`).
    var writeQueueSize: Int { isClosing ? 0 : tcp.pointee.write_queue_size }

    // MARK: hooks for subclasses

    func onRead(_ data: UnsafeRawBufferPointer) {}
    /// EOF (`UVError.eof`) or a read error; reading has stopped.
    func onReadEnd(_ error: UVError) {}
    func onWriteDone(_ error: UVError?) {}
    func onConnect(_ error: UVError?) {}
    func onTimer() {}
    /// Both handles are closed; the object is released right after this returns.
    func onClosed() {}
    /// A TLS session to resume later arrived (client streams); keep it or drop it.
    func onTLSSession(_ session: TLSResumption) {}

    // MARK: operations

    func accept(from server: UnsafeMutablePointer<uv_tcp_t>) -> Bool {
        let rc = uv_accept(
            UnsafeMutableRawPointer(server).assumingMemoryBound(to: uv_stream_t.self), stream)
        return rc == 0
    }

    func setNoDelay() { uv_tcp_nodelay(tcp, 1) }

    /// Final and inlined down to its first test: most calls find the stream reading already
    /// (an idle connection keeps reading, an exchange starts on one that reads), and each was a
    /// call for one test (callgrind: ~14 instructions, three or four per request).
    @inline(__always)
    final func startReading() {
        if isReading { return }
        startReadingNow()
    }

    @inline(never)
    private func startReadingNow() {
        guard !isClosing else { return }
        isReading = true
        if let tls {
            tls.ownerStartedReading()
            return
        }
        socketReading = true
        uv_read_start(stream, uvStreamAllocCallback, uvStreamReadCallback)
    }

    func stopReading() {
        guard isReading, !isClosing else { return }
        isReading = false
        if let tls {
            tls.ownerStoppedReading()
            return
        }
        socketReading = false
        uv_read_stop(stream)
    }

    /// For `TLSSession`: reads the socket or not, whatever the owner wants.
    func setSocketReading(_ on: Bool) {
        guard on != socketReading, !isClosing else { return }
        socketReading = on
        if on {
            uv_read_start(stream, uvStreamAllocCallback, uvStreamReadCallback)
        } else {
            uv_read_stop(stream)
        }
    }

    func connect(to address: SocketAddress) throws(UVError) {
        try address.withSockAddr { sa throws(UVError) in
            try UVError.check(uv_tcp_connect(connectReq, tcp, sa, uvStreamConnectCallback))
        }
    }

    /// Sets the one deadline of this stream, `ms` from now (replacing any other).
    ///
    /// Deadlines change several times per request (idle → head → body → response → idle), and
    /// every uv_timer_start/stop is a heap operation. So the libuv timer is re-armed only when the
    /// new deadline is earlier than the one it is armed for; a timer that fires early re-arms for
    /// the current deadline, and one that fires with no deadline does nothing. In steady
    /// keep-alive traffic that is about one timer operation per request instead of six.
    func startTimer(ms: Int) {
        guard !isClosing else { return }
        let now = uv_now(io.loop)
        let d = now + UInt64(max(ms, 1))
        deadline = d
        if armedFor == 0 || d < armedFor {
            armedFor = d
            uv_timer_start(timer, uvStreamTimerCallback, d - now, 0)
        }
    }

    /// Clears the deadline (the libuv timer may still fire once, harmlessly).
    func stopTimer() {
        deadline = 0
    }

    fileprivate func timerFired() {
        armedFor = 0
        guard deadline != 0, !isClosing else { return }
        let now = uv_now(io.loop)
        if now >= deadline {
            deadline = 0
            onTimer()
        } else {
            armedFor = deadline
            uv_timer_start(timer, uvStreamTimerCallback, deadline - now, 0)
        }
    }

    /// Sends FIN once queued writes are flushed (`uv_shutdown`); reading goes on.
    func shutdownWrite() {
        guard !isClosing, !shutdownStarted else { return }
        shutdownStarted = true
        tls?.shutdown()
        if uv_shutdown(shutdownReq, stream, uvStreamShutdownCallback) != 0 { shutdownStarted = false }
    }

    /// Closes both handles. Queued writes complete with ECANCELED first.
    func close() {
        closeHandles(notify: true)
    }

    private func closeHandles(notify: Bool) {
        guard !isClosing else { return }
        if socketReading {
            uv_read_stop(stream)
            socketReading = false
        }
        isReading = false
        tls?.close(notify: notify)
        uv_timer_stop(timer)
        isClosing = true
        uv_close(UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_handle_t.self), uvStreamCloseCallback)
        uv_close(UnsafeMutableRawPointer(timer).assumingMemoryBound(to: uv_handle_t.self), uvStreamCloseCallback)
    }

    /// Sends a TCP RST instead of a FIN where the peer must see the exchange as failed
    /// (e.g. a response cut short), then closes.
    func reset() {
        guard !isClosing else { return }
        var fd: uv_os_fd_t = -1
        if uv_fileno(UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_handle_t.self), &fd) == 0 {
            var lin = linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, socklen_t(MemoryLayout<linger>.size))
        }
        closeHandles(notify: false)
    }

    /// Writes the pieces in order. Tries a synchronous `uv_try_write` first (one syscall fewer per
    /// request than `uv_write` on libuv 1.44, which adds an epoll_ctl: strace) and queues only
    /// what did not fit, copied into a pooled `WriteRequest` so the caller's buffers may be reused
    /// as soon as this returns. Returns an error only when the stream is broken.
    @discardableResult
    func write(_ iov: IOVecList) -> UVError? {
        guard !isClosing else { return .ecanceled }
        assert(iov.isSealed, "a flat IOVecList is written once sealed")
        bytesWritten &+= UInt64(iov.totalBytes)
        if let tls { return tls.write(iov) }
        return rawWrite(iov, reports: true)
    }

    /// Bytes as they go on the wire. `reports`: the completion is the owner's (`onWriteDone`,
    /// `pendingWrites`); TLS's own records (handshake, alerts) are not.
    func rawWrite(_ iov: IOVecList, reports: Bool) -> UVError? {
        var skip = 0
        if tcp.pointee.write_queue_size == 0 {
            let n: Int32
            if iov.count > 1 && iov.totalBytes <= LoopIO.writeCoalesceCapacity {
                // A head in pieces (11 for a proxied request head): one contiguous write is
                // cheaper for the kernel than a writev of the pieces (`LoopIO.writeCoalesce`).
                let one = io.writeCoalesce
                var buf = uv_buf_t(base: one.assumingMemoryBound(to: CChar.self), len: iov.gather(into: one))
                n = uv_try_write(stream, &buf, 1)
            } else {
                n = uv_try_write(stream, iov.bufs, UInt32(iov.count))
            }
            if n == Int32(iov.totalBytes) { return nil }
            if n < 0 && n != UVError.eagain.code { return UVError(n) }
            skip = max(Int(n), 0)
        }
        let remaining = iov.totalBytes - skip
        let wr = io.pool.takeWriteRequest(capacity: remaining)
        var out = 0
        for i in 0..<iov.count {
            let b = iov.bufs[i]
            var from = 0
            if skip > 0 {
                let s = min(skip, b.len)
                skip -= s
                from = s
            }
            let len = b.len - from
            if len > 0 {
                (wr.buffer + out).copyMemory(from: UnsafeRawPointer(b.base!) + from, byteCount: len)
                out += len
            }
        }
        wr.count = out
        wr.reports = reports
        var buf = uv_buf_t(base: wr.buffer.assumingMemoryBound(to: CChar.self), len: out)
        wr.req.pointee.data = Unmanaged.passRetained(wr).toOpaque()
        let rc = uv_write(wr.req, stream, &buf, 1, uvStreamWriteCallback)
        if rc < 0 {
            Unmanaged<WriteRequest>.fromOpaque(wr.req.pointee.data).release()
            io.pool.give(wr)
            return UVError(rc)
        }
        if reports { pendingWrites += 1 }
        return nil
    }

    func rawWrite(_ base: UnsafeRawPointer, _ count: Int, reports: Bool) -> UVError? {
        guard !isClosing else { return .ecanceled }
        return withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: 1) { storage in
            var iov = IOVecList(storage: storage)
            iov.append(base, count)
            return rawWrite(iov, reports: reports)
        }
    }

    /// Convenience for a single contiguous piece.
    @discardableResult
    func write(_ base: UnsafeRawPointer, _ count: Int) -> UVError? {
        withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: 1) { storage in
            var iov = IOVecList(storage: storage)
            iov.append(base, count)
            return write(iov)
        }
    }

    /// Peer address of a connected stream.
    func peerAddress() -> SocketAddress? {
        var storage = sockaddr_storage()
        var len = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(tcp, $0, &len) }
        }
        return rc == 0 ? SocketAddress(storage: storage) : nil
    }

    // MARK: called by the trampolines only

    /// Returns true when the last handle closed: the trampoline then drops the retain taken in init.
    fileprivate func handleClosed() -> Bool {
        openHandles -= 1
        if openHandles == 0 {
            onClosed()
            return true
        }
        return false
    }

    fileprivate func handleWriteDone(_ wr: WriteRequest, status: Int32) {
        let reports = wr.reports
        io.pool.give(wr)
        guard reports else { return }
        pendingWrites -= 1
        onWriteDone(status < 0 ? UVError(status) : nil)
    }

    func handleReadEnd(_ status: Int32) {
        if socketReading {
            uv_read_stop(stream)
            socketReading = false
        }
        isReading = false
        onReadEnd(UVError(status))
    }

    fileprivate func handleRead(_ nread: Int) {
        if let tls {
            if nread > 0 {
                tls.received(io.readBuffer, nread)
            } else if nread < 0 {
                tls.socketEnded(UVError(Int32(nread)))
            }
            return
        }
        if nread > 0 {
            onRead(UnsafeRawBufferPointer(start: io.readBuffer, count: nread))
        } else if nread < 0 {
            handleReadEnd(Int32(nread))
        }
    }

    fileprivate func handleConnect(_ status: Int32) {
        if status == 0, let tls {
            tls.startClientHandshake()
        } else {
            onConnect(status < 0 ? UVError(status) : nil)
        }
    }
}

@available(*, unavailable)
extension UVStream: Sendable {}

// MARK: - C callback trampolines (non-capturing; the owner comes from `->data`)

@inline(__always)
private func owner(_ data: UnsafeMutableRawPointer?) -> Unmanaged<UVStream> {
    Unmanaged<UVStream>.fromOpaque(data!)
}

private let uvStreamAllocCallback: uv_alloc_cb = { handle, _, buf in
    // One read buffer per loop: every read callback consumes it synchronously (onRead copies
    // what it keeps), so one buffer serves every stream of the loop.
    owner(handle!.pointee.data)._withUnsafeGuaranteedRef { s in
        buf!.pointee = uv_buf_t(
            base: s.io.readBuffer.assumingMemoryBound(to: CChar.self), len: s.io.readBufferSize)
    }
}

private let uvStreamReadCallback: uv_read_cb = { stream, nread, _ in
    owner(stream!.pointee.data)._withUnsafeGuaranteedRef { s in s.handleRead(nread) }
}

private let uvStreamWriteCallback: uv_write_cb = { req, status in
    let wr = Unmanaged<WriteRequest>.fromOpaque(req!.pointee.data).takeRetainedValue()
    owner(req!.pointee.handle.pointee.data)._withUnsafeGuaranteedRef { s in
        s.handleWriteDone(wr, status: status)
    }
}

private let uvStreamShutdownCallback: uv_shutdown_cb = { _, _ in
    // Nothing to do: the owner's linger deadline or the peer's EOF ends the connection.
}

private let uvStreamConnectCallback: uv_connect_cb = { req, status in
    owner(req!.pointee.data)._withUnsafeGuaranteedRef { s in s.handleConnect(status) }
}

private let uvStreamTimerCallback: uv_timer_cb = { timer in
    owner(timer!.pointee.data)._withUnsafeGuaranteedRef { s in s.timerFired() }
}

private let uvStreamCloseCallback: uv_close_cb = { handle in
    let o = owner(handle!.pointee.data)
    if o._withUnsafeGuaranteedRef({ $0.handleClosed() }) {
        o.release()
    }
}
