internal import CLibUV
private import Glibc

/// Runs the proxy until SIGTERM/SIGINT: binds the listeners, prefetches tokens, serves, drains.
public enum ProxyServer {
    /// The server of this process. Its loops, handles and workers live until the process exits
    /// and are not torn down (exit frees them; libuv handles hold references into each other).
    /// Kept here so that they stay reachable at exit: LeakSanitizer (test.sh asan stage) then
    /// reports only memory that became unreachable while serving, i.e. real leaks.
    nonisolated(unsafe) private static var serving: ControlLoop?

    /// Exit status: 0 after a drain, 2 when the listeners cannot be bound.
    /// `reload` reads and validates the configuration again (SIGHUP).
    public static func run(config: ProxyConfig, log: Log, reload: @escaping @Sendable () -> ConfigLoadResult = { ConfigLoadResult(config: nil, errors: [ConfigProblem(keyPath: "", message: "reload is not available")], warnings: []) }) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        // Every client and upstream connection is a descriptor: use the hard limit, as nginx's
        // worker_rlimit_nofile would.
        var nofile = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max {
            nofile.rlim_cur = nofile.rlim_max
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &nofile)
        }
        let loop = uv_default_loop()!
        let control = ControlLoop(loop: loop, config: config, log: log, reload: reload)
        serving = control
        do {
            try control.start(workers: workerCount(config.server.workers))
        } catch {
            writeStderr("m2m-proxy: \(error.description)\n")
            return 2
        }
        log.info("m2m-proxy \(M2MProxyVersion.string) serving \(config.routes.count) route(s)")
        uv_run(loop, UV_RUN_DEFAULT)
        control.joinWorkers()
        control.worker.accessLog?.flush()
        log.info("stopped")
        return 0
    }
}

/// `server.workers`: 0 means one loop per online CPU.
func workerCount(_ configured: Int) -> Int {
    if configured > 0 { return configured }
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

/// Writes straight to fd 2 (no buffering, no Foundation).
public func writeStderr(_ s: String) {
    var bytes = Array(s.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

/// The process environment as a dictionary, for `${VAR}` expansion in the config.
public enum ProcessEnvironment {
    public static func current() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") {
                env[String(s[..<eq])] = String(s[s.index(after: eq)...])
            }
            p += 1
        }
        return env
    }
}

public enum M2MProxyVersion {
    public static let string = "0.1.0"
}
