internal import CLibUV

/// A one-shot libuv timer calling a closure, for the control plane (token refresh and retry
/// schedules): a handful per process, never per request.
final class LoopTimer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    fileprivate var action: (() -> Void)?
    private var closed = false

    init(loop: UnsafeMutablePointer<uv_loop_t>) {
        handle = .allocate(capacity: 1)
        uv_timer_init(loop, handle)
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        // A pending refresh must not keep a draining loop alive.
        uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self))
    }

    deinit {
        // Handles are freed in their close callback; the closure owns nothing that outlives us.
        if !closed {
            uv_timer_stop(handle)
            closed = true
            handle.pointee.data = nil
            uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self), loopTimerCloseCallback)
        }
    }

    /// (Re)arms the timer to fire once after `ms` milliseconds.
    func schedule(afterMs ms: UInt64, _ action: @escaping () -> Void) {
        self.action = action
        uv_timer_start(handle, loopTimerCallback, max(ms, 1), 0)
    }

    func cancel() {
        action = nil
        uv_timer_stop(handle)
    }
}

@available(*, unavailable)
extension LoopTimer: Sendable {}

private let loopTimerCallback: uv_timer_cb = { handle in
    guard let data = handle!.pointee.data else { return }
    Unmanaged<LoopTimer>.fromOpaque(data)._withUnsafeGuaranteedRef { t in
        let a = t.action
        t.action = nil
        a?()
    }
}

private let loopTimerCloseCallback: uv_close_cb = { handle in
    UnsafeMutableRawPointer(handle!).assumingMemoryBound(to: uv_timer_t.self).deallocate()
}
