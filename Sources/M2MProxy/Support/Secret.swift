/// A secret (client secret, token) that can never be printed by accident: interpolating it
/// into a log line or error message yields `<redacted>`. Read `.value` only where the bytes
/// must go on the wire.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
