import Foundation
import Glibc

/// A spawned process whose stdout and stderr go to files in a test's directory. Only this pid
/// is ever signalled: SIGTERM on `stop()`/deinit, SIGKILL if it does not exit within 3 s.
///
/// Spawned with `posix_spawn` rather than Foundation's `Process`: under the test runner,
/// `Process` children inherit a signal mask that blocks SIGTERM/SIGINT/SIGHUP (observed with
/// swift-corelibs-foundation 6.3.1: SigBlk fffffffe3bfbea27), so they could not be stopped
/// and signal handling of the proxy could not be tested. Here the child gets an empty mask,
/// default dispositions, stdin from /dev/null and no inherited descriptors beyond 0-2.
final class ChildProcess {
    let name: String
    let stdoutPath: String
    let stderrPath: String
    let pid: pid_t
    private var status: Int32?

    init(
        name: String, executable: String, arguments: [String], in dir: TempDir,
        environment: [String: String] = [:]
    ) throws {
        self.name = name
        stdoutPath = dir.file("\(name).stdout")
        stderrPath = dir.file("\(name).stderr")

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        Self.closeFrom3?(&actions, 3)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attr, argv, envp)
        guard rc == 0 else {
            throw HarnessError("cannot start \(name) (\(executable)): \(String(cString: strerror(rc)))")
        }
        pid = child
    }

    /// glibc ≥ 2.34 `posix_spawn_file_actions_addclosefrom_np`, which the Glibc module does not
    /// import; without it only close-on-exec descriptors stay out of the child.
    private static let closeFrom3: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32)? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(sym, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32).self)
    }()

    /// Exit status (or 128 + signal number), nil while running. Reaps the child once it ended.
    var exitStatus: Int32? {
        if let status { return status }
        var raw: Int32 = 0
        let r = waitpid(pid, &raw, WNOHANG)
        guard r == pid else { return nil }
        let signal = raw & 0x7f
        status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        return status
    }

    var isRunning: Bool { exitStatus == nil }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits up to `timeout` seconds for the process to exit; returns its status or nil.
    @discardableResult
    func waitForExit(timeout: Double) -> Int32? {
        try? Wait.until("\(name) to exit", timeout: timeout) { !isRunning }
        return exitStatus
    }

    /// Waits for a `KEY=value` line on stdout (fixtures print `PORT=<n>` when ready).
    func waitForStdoutValue(_ key: String, timeout: Double = 10) throws -> String {
        var value: String?
        do {
            try Wait.until("\(key)= on \(name)'s stdout", timeout: timeout) {
                if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("\(key)=") }) {
                    value = String(line.dropFirst(key.count + 1))
                    return true
                }
                if let s = exitStatus {
                    throw HarnessError("\(name) exited with \(s) before printing \(key)=; stderr: \(stderr)")
                }
                return false
            }
        } catch let e as HarnessError where e.description.hasPrefix("timed out") {
            throw HarnessError("\(e.description); \(name) stderr: \(stderr)")
        }
        return value!
    }

    func signal(_ sig: Int32) {
        if isRunning { kill(pid, sig) }
    }

    func stop() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if waitForExit(timeout: 3) == nil {
            kill(pid, SIGKILL)
            waitForExit(timeout: 3)
        }
    }

    deinit { stop() }
}
