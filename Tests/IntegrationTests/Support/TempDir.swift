import Foundation

/// A private scratch directory for one test's configs, logs and process output. Removed when
/// released unless `M2M_ITEST_KEEP=1` (then its path is worth printing when debugging).
final class TempDir {
    let url: URL
    var path: String { url.path }

    init(_ label: String = "itest") throws {
        let base = URL(fileURLWithPath: NSTemporaryDirectory())
        url = base.appendingPathComponent("m2m-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let p = file(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    deinit {
        if ProcessInfo.processInfo.environment["M2M_ITEST_KEEP"] != "1" {
            try? FileManager.default.removeItem(at: url)
        }
    }
}
