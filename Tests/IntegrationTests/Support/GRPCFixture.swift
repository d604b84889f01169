import Foundation

/// The grpcio server of Tests/Fixtures/grpc_echo.py (service `test.Echo`, generic handlers) and
/// its client grpc_call.py, both real grpcio (HTTP/2, trailers, cancellation).
final class GRPCFixture {
    let server: ScriptFixture

    /// `maxConnectionAgeMs`: the server sends GOAWAY on every connection after that long.
    init(label: String = "grpc", maxConnectionAgeMs: Int? = nil) throws {
        server = try ScriptFixture("grpc_echo.py", label: label,
                                   extraArguments: maxConnectionAgeMs.map { ["--max-connection-age-ms", "\($0)"] } ?? [])
    }

    var port: UInt16 { server.port }

    /// One call's outcome as grpc_call.py prints it.
    struct Outcome {
        let code: String
        let details: String?
        let responses: [String]
    }

    /// Runs `call` against `target` (`127.0.0.1:<port>`) with `args` as the request messages.
    /// `path` replaces `/test.Echo/<call>` (other services, other routes).
    /// `options`: more grpc_call.py options (`--repeat N --summary` for large messages).
    static func call(_ target: String, _ call: String, _ args: [String] = [], timeout: Double = 15, in dir: TempDir, path: String? = nil, options: [String] = []) throws -> Outcome {
        let p = try ChildProcess(
            name: "grpc-\(call)-\(UInt32.random(in: 0...UInt32.max))", executable: TestPaths.python,
            arguments: [TestPaths.fixture("grpc_call.py"), "--target", target, "--call", call, "--timeout", "\(timeout)"]
                + args.flatMap { ["--arg", $0] } + (path.map { ["--path", $0] } ?? []) + options,
            in: dir)
        guard p.waitForExit(timeout: timeout + 15) == 0,
              let line = p.stdout.split(separator: "\n").last,
              let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw HarnessError("grpc_call.py \(call) failed: \(p.stdout) \(p.stderr)") }
        return Outcome(
            code: json["code"] as? String ?? "?", details: json["details"] as? String,
            responses: json["responses"] as? [String] ?? [])
    }

    /// The server's log: one record per call (method, the authorization metadata it saw, ...).
    func records() throws -> [[String: Any]] { try server.records() }
}
