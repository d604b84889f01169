/// Collects errors and warnings while one configuration is decoded.
///
/// A class because every section reader appends to the same lists; it lives only for one
/// `ConfigLoader.parse` call on one thread.
final class ConfigDiagnostics {
    private(set) var errors: [ConfigProblem] = []
    private(set) var warnings: [ConfigProblem] = []

    var hasErrors: Bool { !errors.isEmpty }

    func error(_ keyPath: String, _ message: String) {
        errors.append(ConfigProblem(keyPath: keyPath, message: message))
    }

    func warning(_ keyPath: String, _ message: String) {
        warnings.append(ConfigProblem(keyPath: keyPath, message: message))
    }
}

@available(*, unavailable)
extension ConfigDiagnostics: Sendable {}
