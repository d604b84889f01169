/// The protocol a client spoke for one request: the `protocol` label of `m2m_requests_total`
/// (DESIGN.md §6, §7). Labels are ALPN identifiers; HTTP/1.0 counts as `http/1.1`.
enum RequestProtocol: Int, CaseIterable, Sendable {
    case http1 = 0
    case h2 = 1

    var label: String {
        switch self {
        case .http1: "http/1.1"
        case .h2: "h2"
        }
    }
}
