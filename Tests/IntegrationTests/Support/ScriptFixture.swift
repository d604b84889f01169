import Foundation

/// A Python fixture from Tests/Fixtures that takes `--port 0 --log FILE` and prints `PORT=<n>`
/// when ready (upgrade_echo.py, token_checking_upstream.py, ...).
final class ScriptFixture {
    let dir: TempDir
    let process: ChildProcess
    let port: UInt16
    let logPath: String

    init(_ script: String, label: String, extraArguments: [String] = []) throws {
        dir = try TempDir(label)
        logPath = dir.file("\(label).jsonl")
        process = try ChildProcess(
            name: label, executable: TestPaths.python,
            arguments: [TestPaths.fixture(script), "--port", "0", "--log", logPath] + extraArguments, in: dir)
        let text = try process.waitForStdoutValue("PORT")
        guard let p = UInt16(text) else { throw HarnessError("\(script) printed a bad port: \(text)") }
        port = p
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// `GET path` on the fixture itself, answer parsed as a JSON object (e.g. `/_stats`).
    func getJSON(_ path: String) throws -> [String: Any] {
        let c = try RawHTTPConnection(port: port)
        try c.send("GET \(path) HTTP/1.1\r\nHost: fixture\r\n\r\n")
        return try JSONSerialization.jsonObject(with: Data(c.readResponse().body)) as! [String: Any]
    }

    /// The log's JSON lines as dictionaries.
    func records() throws -> [[String: Any]] {
        guard FileManager.default.fileExists(atPath: logPath) else { return [] }
        return try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }
}
