internal import CLibUV

/// Reads, parses and validates a SIGHUP's configuration file on a thread of its own, so that no
/// loop serving requests waits for it (the main loop is also worker 0's data path; 10,000 routes
/// took seconds to parse there). The result is a frozen, `Sendable` `ConfigLoadResult`, handed to
/// the control loop through its inbox; applying it (compiling routes, building each loop's index)
/// stays on the loops, where it is linear in the routes.
///
/// One reader at a time (`ControlLoop` queues a SIGHUP that arrives meanwhile). A reader still
/// running at exit (a config file on a stalled filesystem) is not waited for: its post lands in a
/// mailbox whose handle lives as long as the process (`AsyncSignal`).
final class ReloadReader {
    private let load: @Sendable () -> ConfigLoadResult
    private let thread = WorkerThread()

    init(load: @escaping @Sendable () -> ConfigLoadResult) {
        self.load = load
    }

    /// Starts the thread; `done` runs on it with the result and the `uv_hrtime` the reading
    /// began at. False when no thread could be created. The thread is detached: joining it on
    /// the loop after `done` would wait for it to be scheduled once more, which on a busy
    /// machine is a stall of the loop that serves.
    func start(_ done: @escaping @Sendable (ConfigLoadResult, UInt64) -> Void) -> Bool {
        let load = self.load
        let started = thread.start {
            let started = uv_hrtime()
            done(load(), started)
        }
        if started { thread.detach() }
        return started
    }
}

@available(*, unavailable)
extension ReloadReader: Sendable {}
