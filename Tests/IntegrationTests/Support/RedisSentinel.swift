import Foundation

/// A real `redis-sentinel` on 127.0.0.1:<free port> watching one primary as `mymaster` with a
/// quorum of 1 and short timeouts, so a `SENTINEL FAILOVER` completes within seconds.
final class RedisSentinel {
    let dir: TempDir
    let port: UInt16
    let process: ChildProcess
    static let masterName = "mymaster"

    init(monitoring primary: RedisServer) throws {
        dir = try TempDir("sentinel")
        port = try FreePort.pick()
        // Sentinel rewrites its config file, so it lives in the test's own directory.
        let conf = try dir.write("sentinel.conf", """
            port \(port)
            bind 127.0.0.1
            dir \(dir.path)
            sentinel monitor \(Self.masterName) 127.0.0.1 \(primary.port) 1
            sentinel down-after-milliseconds \(Self.masterName) 1000
            sentinel failover-timeout \(Self.masterName) 5000
            sentinel parallel-syncs \(Self.masterName) 1

            """)
        process = try ChildProcess(name: "sentinel-\(port)", executable: "/usr/bin/redis-sentinel", arguments: [conf], in: dir)
        try Wait.until("sentinel on port \(port) to name the primary", timeout: 10) { try self.primaryPort() == primary.port }
    }

    @discardableResult
    func cli(_ args: [String]) throws -> String {
        let p = try ChildProcess(
            name: "sentinel-cli-\(UUID().uuidString.prefix(8))", executable: RedisServer.cliBinary,
            arguments: ["-p", String(port), "--raw"] + args, in: dir)
        guard p.waitForExit(timeout: 10) != nil else {
            p.stop()
            throw HarnessError("redis-cli \(args) against the sentinel did not finish")
        }
        return p.stdout
    }

    /// The port of the primary the sentinel names now.
    func primaryPort() throws -> UInt16? {
        let lines = try cli(["SENTINEL", "get-master-addr-by-name", Self.masterName]).split(separator: "\n")
        return lines.count == 2 ? UInt16(lines[1]) : nil
    }

    /// How many replicas of the primary the sentinel knows.
    func replicaCount() throws -> Int {
        try cli(["SENTINEL", "replicas", Self.masterName]).split(separator: "\n").filter { $0 == "name" }.count
    }
}
