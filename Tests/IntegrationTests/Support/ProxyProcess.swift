/// The m2m-proxy binary under test, serving a config written into the test's directory.
final class ProxyProcess {
    let process: ChildProcess
    let port: UInt16
    let configPath: String

    /// Starts `m2m-proxy [run] --config FILE` and waits (≤ `timeout` s) until the listen port
    /// accepts connections. Fails fast, with the proxy's stderr, if it exits instead.
    /// `hostsFile`: the proxy runs in a private mount namespace (`unshare --mount`, needs root)
    /// where this file is bind-mounted over /etc/hosts, so a test controls what names resolve
    /// to without touching the machine's file. Rewrite it in place (same inode) to change DNS.
    init(config: TestConfig, in dir: TempDir, useRunSubcommand: Bool = false, timeout: Double = 10, hostsFile: String? = nil) throws {
        guard let listen = config.listen, let portText = listen.split(separator: ":").last, let p = UInt16(portText) else {
            throw HarnessError("test config has no 127.0.0.1:<port> listen address")
        }
        port = p
        configPath = try dir.write("proxy.conf", config.toml)
        let binary = try TestPaths.proxyBinary()
        let args = (useRunSubcommand ? ["run"] : []) + ["--config", configPath]
        if let hostsFile {
            let command = "mount --bind \"$0\" /etc/hosts && exec \"$@\""
            process = try ChildProcess(name: "m2m-proxy", executable: "/usr/bin/unshare",
                                       arguments: ["--mount", "/bin/sh", "-c", command, hostsFile, binary] + args, in: dir)
        } else {
            process = try ChildProcess(name: "m2m-proxy", executable: binary, arguments: args, in: dir)
        }
        let proc = process
        do {
            try Wait.until("m2m-proxy to accept connections on 127.0.0.1:\(p)", timeout: timeout) {
                if Wait.canConnect(port: p) { return true }
                if let status = proc.exitStatus {
                    throw HarnessError(
                        "m2m-proxy exited with status \(status) instead of serving on 127.0.0.1:\(p); "
                            + "stderr: \(proc.stderr.prefix(2000)) stdout: \(proc.stdout.prefix(500))")
                }
                return false
            }
        } catch let e as HarnessError where e.description.hasPrefix("timed out") {
            throw HarnessError("\(e.description); stderr: \(proc.stderr.prefix(2000))")
        }
    }

    func connect(timeout: Double = 10) throws -> RawHTTPConnection { try RawHTTPConnection(port: port, timeout: timeout) }

    var pid: Int32 { process.pid }

    /// The proxy's resident set size (VmRSS in /proc/<pid>/status), in bytes.
    func residentBytes() throws -> Int {
        let path = "/proc/\(pid)/status"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        else { throw HarnessError("cannot read VmRSS from \(path) (is the proxy still running?)") }
        return kb * 1024
    }

    /// stdout + stderr so far.
    var output: String { process.stdout + process.stderr }

    /// The result of a proxy run that is expected to end by itself.
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs the binary with `arguments` (and `environment` on top of the test's own) and waits
    /// (≤ `timeout` s) for it to exit.
    static func runToExit(
        _ arguments: [String], in dir: TempDir, timeout: Double = 10, environment: [String: String] = [:]
    ) throws -> Outcome {
        let binary = try TestPaths.proxyBinary()
        let p = try ChildProcess(
            name: "m2m-proxy-run-\(abs(arguments.hashValue))", executable: binary, arguments: arguments, in: dir,
            environment: environment)
        guard let status = p.waitForExit(timeout: timeout) else {
            p.stop()
            throw HarnessError("m2m-proxy \(arguments.joined(separator: " ")) did not exit within \(timeout) s; stderr: \(p.stderr.prefix(1000))")
        }
        return Outcome(status: status, stdout: p.stdout, stderr: p.stderr)
    }

    /// `m2m-proxy check --config FILE` on `toml`.
    static func check(_ toml: String, in dir: TempDir, name: String = "check.conf") throws -> Outcome {
        let path = try dir.write(name, toml)
        return try runToExit(["check", "--config", path], in: dir)
    }
}
