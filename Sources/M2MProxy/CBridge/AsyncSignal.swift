internal import CLibUV

/// A `uv_async_t` on one loop: any thread may `send()`, and the loop runs `action` on its own
/// thread soon after (libuv coalesces sends that arrive before the callback ran). The cross-loop
/// doorbell of `Mailbox`.
///
/// The handle lives as long as the process: loops are torn down only at exit, and a sender on
/// another thread must never ring a freed handle.
final class AsyncSignal {
    private let handle: UnsafeMutablePointer<uv_async_t>
    /// Runs on the loop's thread; may be set after init (before the loop runs).
    var action: () -> Void

    /// Call on the loop's thread, or before that thread starts.
    init(loop: UnsafeMutablePointer<uv_loop_t>, action: @escaping () -> Void = {}) {
        self.action = action
        handle = .allocate(capacity: 1)
        handle.initialize(to: uv_async_t())
        // Retained for the life of the process (see above).
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        uv_async_init(loop, handle, asyncSignalCallback)
    }

    /// What other threads hold to ring this signal.
    var doorbell: Doorbell { Doorbell(handle: handle) }

    /// Lets a loop that only waits on this signal end (`uv_run` returns when nothing else is
    /// active); a worker loop keeps it referenced and ends with `uv_stop`.
    func unref() {
        uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self))
    }

    /// The sending side: `uv_async_send` is the one libuv call documented as thread-safe.
    struct Doorbell: @unchecked Sendable {
        fileprivate let handle: UnsafeMutablePointer<uv_async_t>
        func ring() { uv_async_send(handle) }
    }
}

@available(*, unavailable)
extension AsyncSignal: Sendable {}

private let asyncSignalCallback: uv_async_cb = { handle in
    Unmanaged<AsyncSignal>.fromOpaque(handle!.pointee.data)._withUnsafeGuaranteedRef { $0.action() }
}

/// Messages for one loop from any thread: a short locked queue plus an `AsyncSignal` doorbell.
/// Only control-plane traffic goes through it (token wake-ups, reloads, drains, metric
/// scrapes), never per-request data.
final class Mailbox<Message: Sendable>: Sendable {
    private let queue = Locked<[Message]>([])
    private let doorbell: AsyncSignal.Doorbell

    init(doorbell: AsyncSignal.Doorbell) { self.doorbell = doorbell }

    func post(_ message: Message) {
        queue.withLock { $0.append(message) }
        doorbell.ring()
    }

    /// Everything posted so far, oldest first (the owner loop calls this in its signal action).
    func take() -> [Message] {
        queue.withLock { q in
            var out: [Message] = []
            swap(&out, &q)
            return out
        }
    }
}
