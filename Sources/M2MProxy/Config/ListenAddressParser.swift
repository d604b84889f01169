/// Parses `server.listen` / `server.admin_listen` entries.
///
/// Accepted forms: `0.0.0.0:8080`, `[::]:8080`, `[::1]:8080`, `localhost:8080` (→ 127.0.0.1),
/// `:8080` (→ 0.0.0.0). The host must be an IP literal (or `localhost`) because listeners bind
/// before any resolver is consulted; the port must be 1-65535 (port 0 would pick a random port
/// nobody could find).
enum ListenAddressParser {
    static func parse(_ text: String) -> Result<ListenAddress, ConfigValueError> {
        let hostPart: Substring
        let portPart: Substring
        let isBracketed = text.hasPrefix("[")
        if isBracketed {
            guard let closing = text.firstIndex(of: "]") else {
                return .failure(ConfigValueError("IPv6 address is missing its closing ']'"))
            }
            hostPart = text[text.index(after: text.startIndex)..<closing]
            let after = text[text.index(after: closing)...]
            guard after.hasPrefix(":") else {
                return .failure(ConfigValueError("must be host:port, e.g. 0.0.0.0:8080 or [::]:8080"))
            }
            portPart = after.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(ConfigValueError("must be host:port, e.g. 0.0.0.0:8080 or [::]:8080"))
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                return .failure(ConfigValueError("an IPv6 address must be in brackets, e.g. [::]:8080"))
            }
        }
        guard let port = EndpointURLParser.parsePort(portPart) else {
            return .failure(ConfigValueError("port must be 1-65535"))
        }
        let host: String
        if isBracketed {
            guard let canonical = IPAddressText.canonicalIPv6(String(hostPart)) else {
                return .failure(ConfigValueError("invalid IPv6 address"))
            }
            host = canonical
        } else if hostPart.isEmpty {
            host = "0.0.0.0"
        } else if hostPart.lowercased() == "localhost" {
            host = "127.0.0.1"
        } else if let canonical = IPAddressText.canonicalIPv4(String(hostPart)) {
            host = canonical
        } else {
            return .failure(ConfigValueError("host must be an IP address or localhost"))
        }
        return .success(ListenAddress(host: host, port: port))
    }
}
