/// Collects errors and warnings while one configuration is decoded.
///
/// A class because every section reader appends to the same lists; it lives only for one
/// `ConfigLoader.parse` call on one thread.
final class ConfigDiagnostics {
    private(set) var errors: [ConfigProblem] = []
    private var recorded: [(problem: ConfigProblem, isUsage: Bool)] = []

    var hasErrors: Bool { !errors.isEmpty }

    /// The warnings in the order they were found; usage warnings only when there are no errors.
    var warnings: [ConfigProblem] {
        recorded.compactMap { hasErrors && $0.isUsage ? nil : $0.problem }
    }

    func error(_ keyPath: String, _ message: String) {
        errors.append(ConfigProblem(keyPath: keyPath, message: message))
    }

    func warning(_ keyPath: String, _ message: String) {
        recorded.append((ConfigProblem(keyPath: keyPath, message: message), false))
    }

    /// A warning about how the file's parts use each other (`credential.c1: not used by any
    /// route`). An entry with errors is left out of that picture, so on a file with errors such a
    /// warning may be false: it is shown only once the file has none.
    func usageWarning(_ keyPath: String, _ message: String) {
        recorded.append((ConfigProblem(keyPath: keyPath, message: message), true))
    }
}

@available(*, unavailable)
extension ConfigDiagnostics: Sendable {}
