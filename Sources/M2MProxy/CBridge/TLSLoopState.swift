internal import CLibUV
internal import COpenSSL

/// Everything TLS that belongs to one event loop: the buffers all its TLS streams share (each
/// use is synchronous, like the loop's read buffer), the `SSL_CTX`s by settings, and the idle
/// handle that delivers decrypted bytes held back by backpressure.
final class TLSLoopState {
    /// Plaintext from `SSL_read`, handed to the owner's `onRead` and consumed before it returns.
    /// Half a socket read: large transfers arrive in 32 KiB pieces, so an owner that stops
    /// reading (backpressure) does so between pieces and the rest waits, decrypted or not, in
    /// its `TLSSession` (exercised by TLSTests' slow client).
    static let plainCapacity = 32 * 1024
    /// Ciphertext produced by `SSL_write`/handshakes, gathered so a 64 KiB write leaves as one
    /// `uv_try_write`, then flushed before control returns to the loop.
    static let cipherCapacity = 96 * 1024
    /// A head written as several iovecs is copied here first and sealed as one record.
    static let coalesceCapacity = 16 * 1024

    let plain: UnsafeMutableRawPointer
    let cipher: UnsafeMutableRawPointer
    var cipherCount = 0
    let coalesce: UnsafeMutableRawPointer
    private let idle: UnsafeMutablePointer<uv_idle_t>
    private var idleActive = false
    /// Streams whose owner resumed reading while decrypted or undecrypted bytes waited: retained
    /// while queued, so a stream closed meanwhile is still valid memory when the drain runs.
    private var drainQueue: [UVStream] = []
    private var clientContexts: [TLSClientSettings: TLSContext] = [:]

    init(loop: UnsafeMutablePointer<uv_loop_t>) {
        plain = .allocate(byteCount: Self.plainCapacity, alignment: 16)
        cipher = .allocate(byteCount: Self.cipherCapacity, alignment: 16)
        coalesce = .allocate(byteCount: Self.coalesceCapacity, alignment: 16)
        idle = .allocate(capacity: 1)
        uv_idle_init(loop, idle)
        idle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        // The idle handle must not keep a draining loop alive on its own.
        uv_unref(UnsafeMutableRawPointer(idle).assumingMemoryBound(to: uv_handle_t.self))
    }

    deinit {
        plain.deallocate()
        cipher.deallocate()
        coalesce.deallocate()
        // The handle lives as long as the loop (the worker owns both).
    }

    /// The context for `settings`, built on first use and kept until `forgetContexts`.
    func clientContext(_ settings: TLSClientSettings) -> Result<TLSContext, TLSError> {
        if let c = clientContexts[settings] { return .success(c) }
        let r = TLSContext.client(settings)
        if case .success(let c) = r { clientContexts[settings] = c }
        return r
    }

    /// A reload rebuilds contexts (a CA or certificate file may have been replaced); connections
    /// made from the old ones keep them alive until they close.
    func forgetContexts() { clientContexts.removeAll() }

    func scheduleDrain(_ s: UVStream) {
        drainQueue.append(s)
        if !idleActive {
            idleActive = true
            uv_idle_start(idle, tlsDrainIdleCallback)
        }
    }

    fileprivate func runDrains() {
        let queued = drainQueue
        drainQueue.removeAll(keepingCapacity: true)
        for s in queued { s.tls?.drainHeldInput() }
        if drainQueue.isEmpty {
            idleActive = false
            uv_idle_stop(idle)
        }
    }
}

@available(*, unavailable)
extension TLSLoopState: Sendable {}

private let tlsDrainIdleCallback: uv_idle_cb = { handle in
    Unmanaged<TLSLoopState>.fromOpaque(handle!.pointee.data)._withUnsafeGuaranteedRef { $0.runDrains() }
}
