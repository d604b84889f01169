/// `Tests/Fixtures/upstream.py`, a recording HTTP/1.1 upstream on 127.0.0.1:<free port>.
final class UpstreamFixture {
    let process: ChildProcess
    let port: UInt16
    let logPath: String

    /// Set for an HTTPS upstream (`tls:`): then `url` is `https://localhost:<port>`.
    let isTLS: Bool

    /// `tls`: serve HTTPS with this certificate (and require client certificates by `clientCA`).
    /// `host`/`port`: where to listen (another loopback address, `::1`, or a given port: the
    /// addresses of one multi-address name share a port). `extraArguments`: more options of
    /// upstream.py (e.g. `--handshake-delay-ms`).
    init(in dir: TempDir, name: String = "upstream", tls: (cert: String, key: String)? = nil, clientCA: String? = nil,
         host: String = "127.0.0.1", port listenPort: UInt16 = 0, extraArguments: [String] = []) throws {
        logPath = dir.file("\(name).jsonl")
        var args = [TestPaths.fixture("upstream.py"), "--port", "\(listenPort)", "--log", logPath, "--host", host]
        if let tls { args += ["--tls-cert", tls.cert, "--tls-key", tls.key] }
        if let clientCA { args += ["--tls-client-ca", clientCA] }
        args += extraArguments
        isTLS = tls != nil
        process = try ChildProcess(name: name, executable: TestPaths.python, arguments: args, in: dir)
        let text = try process.waitForStdoutValue("PORT")
        guard let p = UInt16(text) else { throw HarnessError("upstream printed a bad port: \(text)") }
        port = p
    }

    var url: String { isTLS ? "https://localhost:\(port)" : "http://127.0.0.1:\(port)" }

    func requests() throws -> [UpstreamRequest] { try JSONLines.decode(UpstreamRequest.self, file: logPath) }

    /// The last recorded request (the log is written before the response is sent).
    func lastRequest() throws -> UpstreamRequest {
        guard let r = try requests().last else { throw HarnessError("the upstream recorded no request") }
        return r
    }

    /// The body `/bytes?n=N` serves: byte i is i % 251.
    static func pattern(_ n: Int) -> [UInt8] {
        let block = (0..<251).map { UInt8($0) }
        var out: [UInt8] = []
        out.reserveCapacity(n + 251)
        while out.count < n { out += block }
        return Array(out.prefix(n))
    }
}
