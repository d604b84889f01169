import Glibc

/// Parses the absolute http(s) (and, for upstreams, h2c) URLs of `upstream` and `token_url` into an `EndpointURL`.
///
/// Deliberately strict and small (no Foundation `URL`): scheme and host are lowercased, an IPv6
/// literal must be bracketed, the port defaults by scheme, and user info, queries and fragments are
/// refused because the proxy would silently drop them. Messages never repeat the URL: it could
/// hold a password (`http://user:secret@host`).
enum EndpointURLParser {
    enum Kind {
        /// Path is a base path: trailing "/" removed, "/" becomes "".
        case upstream
        /// Path is the request target: at least "/", otherwise kept as written.
        case tokenEndpoint
    }

    static func parse(_ text: String, kind: Kind) -> Result<EndpointURL, ConfigValueError> {
        guard let separator = text.firstRange(of: "://") else {
            return .failure(ConfigValueError("must be an absolute URL like http://host[:port][/path]"))
        }
        guard let scheme = URLScheme(rawValue: text[..<separator.lowerBound].lowercased()) else {
            return .failure(ConfigValueError(kind == .upstream ? "scheme must be http, https or h2c" : "scheme must be http or https"))
        }
        if scheme == .h2c && kind == .tokenEndpoint {
            return .failure(ConfigValueError("scheme must be http or https (token endpoints speak HTTP/1.1)"))
        }
        let rest = text[separator.upperBound...]
        if rest.contains("?") || rest.contains("#") {
            return .failure(ConfigValueError("must not contain a query or fragment"))
        }
        let pathStart = rest.firstIndex(of: "/") ?? rest.endIndex
        let authorityText = rest[..<pathStart]
        let rawPath = String(rest[pathStart...])

        if authorityText.contains("@") {
            return .failure(ConfigValueError("must not contain user info (user:password@)"))
        }
        let host: String
        let isIPv6: Bool
        let portText: Substring?
        if authorityText.hasPrefix("[") {
            guard let closing = authorityText.firstIndex(of: "]") else {
                return .failure(ConfigValueError("IPv6 address is missing its closing ']'"))
            }
            let literal = authorityText[authorityText.index(after: authorityText.startIndex)..<closing]
            guard let canonical = IPAddressText.canonicalIPv6(String(literal)) else {
                return .failure(ConfigValueError("invalid IPv6 address"))
            }
            host = canonical
            isIPv6 = true
            let afterBracket = authorityText[authorityText.index(after: closing)...]
            if afterBracket.isEmpty {
                portText = nil
            } else if afterBracket.hasPrefix(":") {
                portText = afterBracket.dropFirst()
            } else {
                return .failure(ConfigValueError("invalid host"))
            }
        } else {
            let parts = authorityText.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else {
                return .failure(ConfigValueError("invalid host (an IPv6 address must be in brackets)"))
            }
            host = parts[0].lowercased()
            isIPv6 = false
            portText = parts.count == 2 ? parts[1] : nil
            guard !host.isEmpty else { return .failure(ConfigValueError("host is missing")) }
            guard isValidHostName(host) else { return .failure(ConfigValueError("invalid host")) }
        }

        let port: UInt16
        if let portText {
            guard let parsed = parsePort(portText) else {
                return .failure(ConfigValueError("port must be 1-65535"))
            }
            port = parsed
        } else {
            port = scheme == .https ? 443 : 80
        }

        if rawPath.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            return .failure(ConfigValueError("path must not contain spaces or control characters"))
        }
        let path: String
        switch kind {
        case .upstream:
            var trimmed = Substring(rawPath)
            while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
            path = String(trimmed)
        case .tokenEndpoint:
            path = rawPath.isEmpty ? "/" : rawPath
        }

        let defaultPort: UInt16 = scheme == .https ? 443 : 80
        let bracketedHost = isIPv6 ? "[\(host)]" : host
        let authority = port == defaultPort ? bracketedHost : "\(bracketedHost):\(port)"
        return .success(EndpointURL(scheme: scheme, host: host, port: port, path: path, authority: authority))
    }

    /// A decimal port 1-65535, digits only.
    static func parsePort(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = Int(text), value >= 1, value <= 65535
        else { return nil }
        return UInt16(value)
    }

    /// RFC 3986 reg-name restricted to what DNS and /etc/hosts use: letters, digits, "-", "_", ".".
    static func isValidHostName(_ host: String) -> Bool {
        !host.isEmpty && !host.hasPrefix(".") && !host.contains("..")
            && host.utf8.allSatisfy { byte in
                (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }
    }
}
