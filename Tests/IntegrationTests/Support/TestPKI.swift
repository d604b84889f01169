import Foundation

/// The certificates of `Tests/Fixtures/make_tls_certs.sh`, made once per test process with the
/// openssl CLI into a private directory (see the script for what each file is).
final class TestPKI: @unchecked Sendable {
    let dir: TempDir

    /// Made on first use; lives as long as the test process.
    static let shared: Result<TestPKI, HarnessError> = {
        do { return .success(try TestPKI()) } catch let e as HarnessError { return .failure(e) } catch {
            return .failure(HarnessError("\(error)"))
        }
    }()

    static func get() throws -> TestPKI { try shared.get() }

    private init() throws {
        dir = try TempDir("pki")
        let p = try ChildProcess(
            name: "make-tls-certs", executable: "/bin/bash",
            arguments: [TestPaths.fixture("make_tls_certs.sh"), dir.file("certs")], in: dir)
        guard let status = p.waitForExit(timeout: 30), status == 0 else {
            throw HarnessError("make_tls_certs.sh failed: \(p.stderr)")
        }
    }

    func file(_ name: String) -> String { dir.file("certs/\(name)") }

    var caFile: String { file("ca.pem") }
    /// A certificate + key pair by base name: server, wrong, expired, unknown, client.
    func pair(_ name: String) -> (cert: String, key: String) { (file("\(name).pem"), file("\(name).key")) }
}
