/// What `ConfigLoader` found: a frozen config when there are no errors, and the problems either way.
public struct ConfigLoadResult: Sendable {
    /// nil iff `errors` is non-empty.
    public let config: ProxyConfig?
    /// Problems that make the file unusable (`check` exits 1, `run` exits 2).
    public let errors: [ConfigProblem]
    /// Problems worth telling the operator about that do not stop the proxy.
    public let warnings: [ConfigProblem]

    public init(config: ProxyConfig?, errors: [ConfigProblem], warnings: [ConfigProblem]) {
        precondition((config == nil) == !errors.isEmpty, "a config exists exactly when there are no errors")
        self.config = config
        self.errors = errors
        self.warnings = warnings
    }
}
