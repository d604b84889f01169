import Foundation
import Glibc

/// A real `redis-server` (Debian's, as users run it) on 127.0.0.1:<free port>, no persistence,
/// ready once it answers PING. Killed with the test (only its own pid). `kill()` and `restart()`
/// simulate an outage on the same port.
final class RedisServer {
    let dir: TempDir
    let port: UInt16
    private let extraArgs: [String]
    /// `redis-cli` options that authenticate (`--user U --pass P`), for servers with ACLs.
    let auth: [String]
    private(set) var process: ChildProcess
    private var starts = 0

    static let serverBinary = "/usr/bin/redis-server"
    static let cliBinary = "/usr/bin/redis-cli"

    /// `extraArgs`: more `redis-server` options (e.g. `["--requirepass", "pw"]`).
    /// `tls`: serve TLS only, on `port` (certificate and key, and the CA clients trust).
    init(label: String = "redis", port: UInt16? = nil, extraArgs: [String] = [], auth: [String] = [],
         tls: (cert: String, key: String, ca: String)? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.serverBinary) else {
            throw HarnessError("\(Self.serverBinary) not found: run scripts/install-deps.sh test (package redis-server)")
        }
        dir = try TempDir(label)
        self.port = try port ?? FreePort.pick()
        let p = self.port
        self.extraArgs = extraArgs + (tls.map {
            ["--port", "0", "--tls-port", String(p), "--tls-cert-file", $0.cert, "--tls-key-file", $0.key,
             "--tls-ca-cert-file", $0.ca, "--tls-auth-clients", "no"]
        } ?? [])
        self.auth = auth + (tls.map { ["--tls", "--cacert", $0.ca] } ?? [])
        process = try Self.spawn(dir: dir, port: self.port, extraArgs: self.extraArgs, n: 0)
        try waitUntilReady()
    }

    private static func spawn(dir: TempDir, port: UInt16, extraArgs: [String], n: Int) throws -> ChildProcess {
        try ChildProcess(
            name: "redis-\(port)-\(n)", executable: serverBinary,
            arguments: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--dir", dir.path, "--protected-mode", "no"] + extraArgs,
            in: dir)
    }

    /// PING answered.
    func waitUntilReady(timeout: Double = 10) throws {
        let proc = process
        try Wait.until("redis-server on port \(port) to answer PING", timeout: timeout) {
            if let s = proc.exitStatus { throw HarnessError("redis-server exited with \(s): \(proc.stdout.suffix(1000))") }
            return (try? cli(["PING"]))?.contains("PONG") == true
        }
    }

    /// Runs `redis-cli -p PORT --raw ARGS` and returns its stdout.
    @discardableResult
    func cli(_ args: [String]) throws -> String {
        let p = try ChildProcess(
            name: "redis-cli-\(UUID().uuidString.prefix(8))", executable: Self.cliBinary,
            arguments: ["-p", String(port), "--raw", "--no-auth-warning"] + auth + args, in: dir)
        guard p.waitForExit(timeout: 10) != nil else {
            p.stop()
            throw HarnessError("redis-cli \(args) did not finish")
        }
        return p.stdout
    }

    /// Every key and its raw value.
    func dump() throws -> [(key: String, value: String)] {
        let keys = try cli(["--scan"]).split(separator: "\n").map(String.init)
        return try keys.map { ($0, try cli(["GET", $0])) }
    }

    /// SIGKILL: the store vanishes mid-run, no goodbye.
    func kill() {
        process.signal(SIGKILL)
        process.waitForExit(timeout: 5)
    }

    /// Starts again on the same port (empty) and waits for PING.
    func restart() throws {
        starts += 1
        process = try Self.spawn(dir: dir, port: port, extraArgs: extraArgs, n: starts)
        try waitUntilReady()
    }
}
