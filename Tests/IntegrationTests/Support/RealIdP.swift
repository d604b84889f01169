import Foundation

/// Glewlwyd started by `scripts/real-idp-up.sh` in a scratch directory on a free port; stopped
/// with `DIR/stop.sh` on `stop()` or release.
final class RealIdP {
    let dir: TempDir
    let port: UInt16
    let clientID: String
    let clientSecret: String
    /// `DIR/idp.env` as a dictionary (TOKEN_ENDPOINT, PID, ISSUER, ...).
    let env: [String: String]
    private var stopped = false

    init(clientID: String, clientSecret: String, scopes: String, ttl: Int = 3600, resources: String = "https://shopping.api") throws {
        dir = try TempDir("idp")
        port = try FreePort.pick()
        self.clientID = clientID
        self.clientSecret = clientSecret
        let installed = FileManager.default.isExecutableFile(atPath: "/usr/bin/glewlwyd")
        var environment = ["IDP_RESOURCES": resources]
        if installed { environment["IDP_NO_INSTALL"] = "1" }
        let idpDir = dir.file("idp")
        let up = try ChildProcess(
            name: "real-idp-up", executable: "/bin/bash",
            arguments: [TestPaths.script("real-idp-up.sh"), idpDir, String(port), clientID, clientSecret, scopes, String(ttl)],
            in: dir, environment: environment)
        // Start-up takes about 0.5 s; an apt install (glewlwyd missing) about 15 s.
        let limit: Double = installed ? 20 : 180
        guard let status = up.waitForExit(timeout: limit) else {
            up.stop()
            throw HarnessError("real-idp-up.sh did not finish within \(limit) s; stderr: \(up.stderr)")
        }
        guard status == 0 else {
            throw HarnessError("real-idp-up.sh failed (status \(status)); glewlwyd must be installed "
                + "(scripts/install-deps.sh test); stderr: \(up.stderr)")
        }
        var env: [String: String] = [:]
        for line in up.stdout.split(separator: "\n") where !line.hasPrefix("#") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            env[String(line[..<eq])] = String(line[line.index(after: eq)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        self.env = env
        guard env["TOKEN_ENDPOINT"] != nil else { throw HarnessError("real-idp-up.sh printed no TOKEN_ENDPOINT: \(up.stdout)") }
    }

    var tokenEndpoint: String { env["TOKEN_ENDPOINT"]! }
    var logPath: String { dir.file("idp/glewlwyd.log") }

    /// Tokens minted for `client` so far (NOTES.md: count the log lines, with the client id).
    func tokensIssued(to client: String? = nil) -> Int {
        let needle = "Access token generated for client '\(client ?? clientID)'"
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return log.components(separatedBy: "\n").filter { $0.contains(needle) }.count
    }

    func admin(_ args: [String]) throws -> String {
        let p = try ChildProcess(
            name: "real-idp-admin-\(abs(args.hashValue))", executable: "/bin/bash",
            arguments: [TestPaths.script("real-idp-admin.sh"), dir.file("idp")] + args, in: dir)
        guard p.waitForExit(timeout: 10) == 0 else { throw HarnessError("real-idp-admin.sh \(args) failed: \(p.stderr)") }
        return p.stdout
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        if let p = try? ChildProcess(name: "real-idp-stop", executable: "/bin/sh", arguments: [dir.file("idp/stop.sh")], in: dir) {
            p.waitForExit(timeout: 10)
        }
    }

    deinit { stop() }
}
