import Foundation
import Glibc

/// A throwaway PostgreSQL cluster (Debian's `postgresql` package, `scripts/install-deps.sh test`)
/// in a test's scratch directory: `initdb`, then `pg_ctl start` listening only on a Unix socket
/// in that directory (a free port number names the socket; no TCP port is taken), trust
/// authentication, superuser `postgres`. The server refuses to run as root, so under root it runs
/// as the `postgres` system user (`runuser`), which the package creates. Stopped on `stop()` and
/// deinit (`pg_ctl stop -m immediate`).
final class PostgresCluster {
    static let installHint = "run `sudo bash scripts/install-deps.sh test` (scripts/test.sh does it)"
    let dir: TempDir
    let port: UInt16
    private let binDir: String
    private var running = false

    init() throws {
        guard let bin = Self.binDir() else {
            throw HarnessError("PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin: \(Self.installHint)")
        }
        binDir = bin
        dir = try TempDir("pg")
        port = try FreePort.pick()
        if getuid() == 0 {
            // The server's directory must belong to the user that runs it.
            guard let pw = getpwnam("postgres") else { throw HarnessError("no `postgres` system user: \(Self.installHint)") }
            guard chown(dir.path, pw.pointee.pw_uid, pw.pointee.pw_gid) == 0 else {
                throw HarnessError("chown \(dir.path) to postgres failed: errno \(errno)")
            }
        }
        try server("\(binDir)/initdb", ["-D", dir.file("data"), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C"])
        try server("\(binDir)/pg_ctl", [
            "-D", dir.file("data"), "-l", dir.file("server.log"), "-w", "-t", "60", "start",
            "-o", "-p \(port) -k \(dir.path) -c listen_addresses='' -c fsync=off",
        ])
        running = true
    }

    /// `psql -X` as the superuser on database `db` with `-v NAME=VALUE` for each variable.
    func psql(_ db: String, _ arguments: [String], variables: [(String, String)] = []) throws -> ComposeFileTests.Outcome {
        let client = "\(binDir)/psql"
        let vars = variables.flatMap { ["-v", "\($0.0)=\($0.1)"] }
        return try ComposeFileTests.run(client, ["-X", "-q", "-h", dir.path, "-p", "\(port)", "-U", "postgres", "-d", db] + vars + arguments, in: dir)
    }

    /// Creates database `name` holding the SQL file at `schemaPath`; throws with psql's message.
    func createDatabase(_ name: String, schemaPath: String) throws {
        let created = try psql("postgres", ["-c", "CREATE DATABASE \(name)"])
        guard created.status == 0 else { throw HarnessError("CREATE DATABASE \(name): \(created.stderr)") }
        let loaded = try psql(name, ["-v", "ON_ERROR_STOP=1", "-f", schemaPath])
        guard loaded.status == 0 else { throw HarnessError("loading \(schemaPath): \(loaded.stderr)") }
    }

    func stop() {
        guard running else { return }
        running = false
        _ = try? server("\(binDir)/pg_ctl", ["-D", dir.file("data"), "-m", "immediate", "-w", "stop"])
    }

    deinit { stop() }

    /// Runs a server-side tool, as `postgres` when this process is root.
    private func server(_ tool: String, _ arguments: [String]) throws {
        let (executable, args) = getuid() == 0 ? ("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + arguments) : (tool, arguments)
        let o = try ComposeFileTests.run(executable, args, in: dir, timeout: 90)
        guard o.status == 0 else {
            let log = (try? String(contentsOfFile: dir.file("server.log"), encoding: .utf8)) ?? ""
            throw HarnessError("\(tool) failed (\(o.status)): \(o.stderr.prefix(2000)) \(log.suffix(2000))")
        }
    }

    /// The newest /usr/lib/postgresql/N/bin holding initdb, pg_ctl and psql.
    private static func binDir() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(by: >)
        return versions.map { "\(root)/\($0)/bin" }.first { bin in
            ["initdb", "pg_ctl", "psql"].allSatisfy { FileManager.default.isExecutableFile(atPath: "\(bin)/\($0)") }
        }
    }
}
