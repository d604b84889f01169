internal import CLibUV

/// HTTP/2 connections of one loop whose frames wait to be sent, flushed once per loop iteration
/// after its I/O callbacks (a `uv_check` handle): the responses of several streams that come in
/// during one iteration leave in one `mem_send` batch and one write, not one each. A check
/// handle runs after the poll phase and before the close callbacks, and adds no wake-up of its
/// own (an idle handle would make the poll non-blocking).
final class H2FlushQueue {
    private let check: UnsafeMutablePointer<uv_check_t>
    private var active = false
    /// Retained while queued: a connection closed meanwhile is still valid memory (its flush
    /// then does nothing). Two arrays swapped per run, so neither is copied nor reallocated.
    private var queued: [H2SessionDelegate] = []
    private var running: [H2SessionDelegate] = []

    init(loop: UnsafeMutablePointer<uv_loop_t>) {
        check = .allocate(capacity: 1)
        uv_check_init(loop, check)
        check.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        // The check handle must not keep a draining loop alive on its own.
        uv_unref(UnsafeMutableRawPointer(check).assumingMemoryBound(to: uv_handle_t.self))
    }

    // The handle lives as long as the loop (the worker owns both), as `TLSLoopState`'s does.

    /// `d.h2Flush()` runs at the end of this loop iteration (`d` is queued once per call).
    func schedule(_ d: H2SessionDelegate) {
        queued.append(d)
        if !active {
            active = true
            uv_check_start(check, h2FlushCheckCallback)
        }
    }

    fileprivate func run() {
        // A flush that queues another (none known today) is served in this same check: left to
        // the next iteration's, it would wait for unrelated I/O, since a check handle does not
        // shorten the poll. Bounded, so that a flush that always queues one more cannot spin.
        var rounds = 0
        repeat {
            swap(&queued, &running)
            for d in running { d.h2Flush() }
            running.removeAll(keepingCapacity: true)
            rounds += 1
        } while !queued.isEmpty && rounds < 4
        if queued.isEmpty {
            active = false
            uv_check_stop(check)
        }
    }
}

@available(*, unavailable)
extension H2FlushQueue: Sendable {}

private let h2FlushCheckCallback: uv_check_cb = { handle in
    Unmanaged<H2FlushQueue>.fromOpaque(handle!.pointee.data)._withUnsafeGuaranteedRef { $0.run() }
}
