private import Glibc

/// A value behind a pthread mutex, for the few things worker loops and the control loop share
/// (mailbox queues, a token slot's current token, access-log flushes); never taken per request
/// in steady state.
///
/// Not `Synchronization.Mutex`: on Linux its lock is not visible to ThreadSanitizer, which then
/// reported every access it protects as a race; TSan intercepts pthread_mutex_lock, so CI's
/// `swift test --sanitize=thread` checks these for real.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
