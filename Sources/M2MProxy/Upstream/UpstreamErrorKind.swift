/// Why an exchange with an upstream failed, for `m2m_upstream_errors_total{kind}` and the
/// access log's `upstream_error`. Fixed strings so metrics group cleanly (STYLE.md §5).
enum UpstreamErrorKind: Int, CaseIterable {
    /// The host name did not resolve.
    case resolveFailed
    /// ECONNREFUSED while connecting.
    case connectRefused
    /// Any other connect failure (unreachable, closed during connect, ...).
    case connectFailed
    /// `connect_timeout_ms` passed while resolving or connecting.
    case connectTimeout
    /// Reset or write/read error after connecting.
    case reset
    /// The upstream closed the connection (FIN) before its response was complete.
    case closed
    /// `response_timeout_ms` passed without response bytes.
    case responseTimeout
    /// `read_timeout_ms` passed between two reads of the response body.
    case readTimeout
    /// Unparsable or unexpected response (bad head, bad framing, head too large, stray 101).
    case invalidResponse
    /// TLS handshake, certificate verification or a TLS alert.
    case tls
    /// An HTTP/2 upstream refused the request's stream (RST_STREAM REFUSED_STREAM, or a GOAWAY
    /// below it): not processed (RFC 9113 §8.7), so not the endpoint's failure, but still why
    /// the client got no answer once the one retry was refused too.
    case refusedStream
    /// The request needs HTTP/2 (gRPC) and the endpoint chose HTTP/1.1 in ALPN (`http2 = true`).
    case alpnFallback

    /// A failed connect: refused, or any other failure.
    static func connect(_ error: UVError) -> UpstreamErrorKind {
        error == .econnrefused ? .connectRefused : .connectFailed
    }

    var label: String {
        switch self {
        case .resolveFailed: "resolve_failed"
        case .connectRefused: "connect_refused"
        case .connectFailed: "connect_failed"
        case .connectTimeout: "connect_timeout"
        case .reset: "reset"
        case .closed: "closed"
        case .responseTimeout: "response_timeout"
        case .readTimeout: "read_timeout"
        case .invalidResponse: "invalid_response"
        case .tls: "tls"
        case .refusedStream: "refused_stream"
        case .alpnFallback: "alpn_fallback"
        }
    }

    /// A read or write error seen on an established upstream connection.
    static func lost(_ error: UVError) -> UpstreamErrorKind {
        error == .eof ? .closed : error == .eproto ? .tls : .reset
    }
}
