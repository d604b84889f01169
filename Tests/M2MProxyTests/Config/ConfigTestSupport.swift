import Foundation
@testable import M2MProxy

/// Shared helpers for the Config tests.
enum ConfigTestSupport {
    static let credential = """
        [credential.logto]
        token_url = "http://logto:3001/oidc/token"
        client_id = "app-id"
        client_secret = "app-secret"

        """

    static func parse(_ toml: String, environment: [String: String] = [:]) -> ConfigLoadResult {
        ConfigLoader.parse(text: toml, environment: environment)
    }

    /// `keyPath: message` of every error.
    static func errors(_ toml: String, environment: [String: String] = [:]) -> [String] {
        parse(toml, environment: environment).errors.map(\.description)
    }

    /// Warnings other than the exposure warning (token route on a non-loopback listener without
    /// allow_cidrs), which every minimal config with the default listen address gets; that one is
    /// tested on its own in CIDRTests.
    static func warnings(_ toml: String, environment: [String: String] = [:]) -> [String] {
        parse(toml, environment: environment).warnings.filter { !isExposureWarning($0) }.map(\.description)
    }

    static func isExposureWarning(_ w: ConfigProblem) -> Bool { w.message.contains("with no allow_cidrs") }

    /// A fresh directory under the system temp dir, removed by the caller via `removeItem`.
    static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("m2m-config-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url)
    }
}
