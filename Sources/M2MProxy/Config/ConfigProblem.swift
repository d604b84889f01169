/// One thing wrong (or suspicious) in a configuration file, tied to the key it is about.
///
/// `keyPath` uses the file's own names with 0-based indexes in file order, e.g. `route[2].upstream`,
/// `credential.logto.token_url`, `server.listen[1]`, and `route "shopping" (route[0]).upstream`
/// for a route with a name (RouteKeyPath), so an operator can find the line without knowing the
/// code. Messages never contain a secret: they describe what is wrong, not the value.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// e.g. `route[2].upstream`; empty when the problem is about the file as a whole.
    public let keyPath: String
    /// e.g. `scheme must be http or https`.
    public let message: String

    public init(keyPath: String, message: String) {
        self.keyPath = keyPath
        self.message = message
    }

    /// `keyPath: message`, or just `message` when there is no key path.
    public var description: String { keyPath.isEmpty ? message : "\(keyPath): \(message)" }
}
