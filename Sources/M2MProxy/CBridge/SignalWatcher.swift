internal import CLibUV

/// A libuv signal handle calling a closure on the loop thread (signals are rare: a closure is fine).
final class SignalWatcher {
    private let handle: UnsafeMutablePointer<uv_signal_t>
    fileprivate let action: () -> Void

    init(loop: UnsafeMutablePointer<uv_loop_t>, signal: Int32, action: @escaping () -> Void) {
        self.action = action
        handle = .allocate(capacity: 1)
        uv_signal_init(loop, handle)
        // Lives as long as the process serves: retained here, never released.
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        uv_signal_start(handle, signalWatcherCallback, signal)
        // Signal handles must not keep the loop alive on their own.
        uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self))
    }
}

@available(*, unavailable)
extension SignalWatcher: Sendable {}

private let signalWatcherCallback: uv_signal_cb = { handle, _ in
    Unmanaged<SignalWatcher>.fromOpaque(handle!.pointee.data)._withUnsafeGuaranteedRef { $0.action() }
}

/// A repeating libuv timer calling a closure (control-plane use only: drain checks, access-log
/// flushes). `unref`: the timer does not keep the loop alive on its own.
final class RepeatingTimer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    fileprivate let action: () -> Void

    init(loop: UnsafeMutablePointer<uv_loop_t>, everyMs: UInt64, unref: Bool = false, action: @escaping () -> Void) {
        self.action = action
        handle = .allocate(capacity: 1)
        uv_timer_init(loop, handle)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        uv_timer_start(handle, repeatingTimerCallback, everyMs, everyMs)
        if unref { uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) }
    }

    private var stopped = false

    /// Stops for good: the handle closes and the retain taken in init is dropped in its close
    /// callback, so the action never runs again.
    func stop() {
        guard !stopped else { return }
        stopped = true
        uv_timer_stop(handle)
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self), repeatingTimerCloseCallback)
    }

    fileprivate func closed() { handle.deallocate() }
}

private let repeatingTimerCloseCallback: uv_close_cb = { handle in
    let t = Unmanaged<RepeatingTimer>.fromOpaque(handle!.pointee.data)
    t._withUnsafeGuaranteedRef { $0.closed() }
    t.release()
}

@available(*, unavailable)
extension RepeatingTimer: Sendable {}

private let repeatingTimerCallback: uv_timer_cb = { handle in
    Unmanaged<RepeatingTimer>.fromOpaque(handle!.pointee.data)._withUnsafeGuaranteedRef { $0.action() }
}
