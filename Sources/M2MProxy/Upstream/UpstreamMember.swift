/// One URL of a route's `upstream` list, as its cluster needs it: the host (a name that DNS may
/// map to several addresses, or an IP literal), the port and the Host line it sends.
struct UpstreamMember {
    let host: String
    let port: UInt16
    /// True for an IP literal: one endpoint, never looked up.
    let isLiteral: Bool
    /// ` HTTP/1.1\r\nHost: <authority>\r\n`: the end of the upstream request line and the Host
    /// line, one piece (`UpstreamHeadLines.requestLineEndAndHost`).
    let requestLineEndAndHost: StaticBytes
    /// `host:port` (`[v6]:port`).
    let label: String

    init(_ url: EndpointURL) {
        host = url.host
        port = url.port
        isLiteral = SocketAddress(ip: url.host, port: url.port) != nil
        requestLineEndAndHost = StaticBytes(" HTTP/1.1\r\nHost: \(url.authority)\r\n")
        label = Self.label(ip: url.host, port: url.port)
    }

    /// `ip:port`, IPv6 in brackets.
    static func label(ip: String, port: UInt16) -> String {
        ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
