import Foundation

/// Where the things the integration tests spawn live. Fixtures and scripts are found from this
/// source file (`#filePath`), so the tests never depend on the working directory.
enum TestPaths {
    /// This file is `<root>/Tests/IntegrationTests/Support/TestPaths.swift`.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var fixtures: URL { packageRoot.appendingPathComponent("Tests/Fixtures") }
    static var scripts: URL { packageRoot.appendingPathComponent("scripts") }

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }
    static func script(_ name: String) -> String { scripts.appendingPathComponent(name).path }

    /// `$PYTHON`, else the system python3 (a pyenv shim costs about a second per start).
    static let python: String = {
        if let p = ProcessInfo.processInfo.environment["PYTHON"], !p.isEmpty { return p }
        for p in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        return "python3"
    }()

    /// The proxy under test: `$M2M_PROXY_BIN`, else `m2m-proxy` next to the running test bundle
    /// (`swift test` on Linux runs `.build/<triple>/debug/m2m-proxyPackageTests.xctest`, and
    /// `m2m-proxy` is built into the same directory), else `<root>/.build/debug/m2m-proxy`.
    static func proxyBinary() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let p = env["M2M_PROXY_BIN"], !p.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: p) else {
                throw HarnessError("M2M_PROXY_BIN=\(p) is not an executable file")
            }
            return p
        }
        let candidates = binaryCandidates()
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            return found
        }
        throw HarnessError(
            "m2m-proxy binary not found (looked at: \(candidates.joined(separator: ", "))); "
                + "run `swift build` first or set M2M_PROXY_BIN")
    }

    static func binaryCandidates() -> [String] {
        var dirs: [URL] = []
        let arg0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        dirs.append(arg0.deletingLastPathComponent())
        let bundle = Bundle.main.bundleURL.resolvingSymlinksInPath()
        dirs.append(bundle.pathExtension == "xctest" ? bundle.deletingLastPathComponent() : bundle)
        dirs.append(packageRoot.appendingPathComponent(".build/debug"))
        var seen = Set<String>()
        return dirs.map { $0.appendingPathComponent("m2m-proxy").path }.filter { seen.insert($0).inserted }
    }
}
