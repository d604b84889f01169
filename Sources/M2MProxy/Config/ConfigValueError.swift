/// Why a single value could not be parsed; the caller adds the key path to make a `ConfigProblem`.
///
/// Parsers of individual values (URLs, listen addresses, host patterns, `${VAR}` references) do not
/// know where the value came from, so they only describe what is wrong. The message must never
/// repeat the value itself: it may be (or contain) a secret.
struct ConfigValueError: Error, Equatable {
    let message: String

    init(_ message: String) {
        self.message = message
    }
}
