private import Glibc

/// A plain pthread running one closure (a worker loop's `uv_run`). No Foundation `Thread`.
///
/// Swift does not check what crosses `pthread_create`: the closure carries loop-confined
/// objects (a worker loop and what it owns), which is sound because the creating thread never
/// touches them again after `start` (pthread_create orders everything before it with the new
/// thread).
final class WorkerThread {
    private var thread = pthread_t()
    private var started = false

    func start(_ body: @escaping () -> Void) -> Bool {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        let rc = pthread_create(&thread, nil, workerThreadMain, box)
        if rc != 0 {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            return false
        }
        started = true
        return true
    }

    func join() {
        guard started else { return }
        started = false
        pthread_join(thread, nil)
    }
}

@available(*, unavailable)
extension WorkerThread: Sendable {}

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

private func workerThreadMain(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let body = Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue()
    body.body()
    return nil
}
