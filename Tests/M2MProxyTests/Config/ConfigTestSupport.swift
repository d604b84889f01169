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

    static func warnings(_ toml: String, environment: [String: String] = [:]) -> [String] {
        parse(toml, environment: environment).warnings.map(\.description)
    }

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
