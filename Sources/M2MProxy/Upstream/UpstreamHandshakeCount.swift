/// Upstream TLS handshakes of one upstream (`host:port`), full and resumed; the metrics sum
/// them over the loops and over pools that differ only in TLS settings
/// (`MetricsSnapshot.TLSHandshakeCount`).
struct UpstreamHandshakeCount: Equatable, Sendable {
    var upstream: String
    var full: UInt64
    var resumed: UInt64
}
