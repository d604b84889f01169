/// Why `JSONParser` refused a document. `message` is a fixed short text; `offset` is the byte
/// position where parsing stopped. Neither ever quotes the input, which may hold a token.
struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    let message: String
    let offset: Int

    var description: String { "invalid JSON at byte \(offset): \(message)" }
}
