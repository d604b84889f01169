/// Parses a route's `host` into a `HostMatch`.
///
/// `shop.internal` → `.exact("shop.internal")`, `*.example.com` → `.suffix(".example.com")`,
/// both lowercased. An IPv6 literal is kept in brackets (`[::1]`), the way a `Host` header carries
/// it once its port is removed. A port is an error: the router ignores the port of the `Host`
/// header, so `shop.internal:8080` in the config would silently match every port.
enum HostMatchParser {
    static func parse(_ text: String) -> Result<HostMatch, ConfigValueError> {
        let lowered = text.lowercased()
        guard !lowered.isEmpty else {
            return .failure(ConfigValueError("must not be empty (omit host to match any host)"))
        }
        if lowered.hasPrefix("[") {
            guard let closing = lowered.firstIndex(of: "]") else {
                return .failure(ConfigValueError("IPv6 address is missing its closing ']'"))
            }
            let afterBracket = lowered[lowered.index(after: closing)...]
            if afterBracket.hasPrefix(":") {
                return .failure(ConfigValueError("host must not contain a port (the port is ignored when matching)"))
            }
            guard afterBracket.isEmpty else { return .failure(ConfigValueError("invalid host name")) }
            let literal = lowered[lowered.index(after: lowered.startIndex)..<closing]
            guard let canonical = IPAddressText.canonicalIPv6(String(literal)) else {
                return .failure(ConfigValueError("invalid IPv6 address"))
            }
            return .success(.exact("[\(canonical)]"))
        }
        if lowered.contains(":") {
            if lowered.firstIndex(of: ":") == lowered.lastIndex(of: ":") {
                return .failure(ConfigValueError("host must not contain a port (the port is ignored when matching)"))
            }
            return .failure(ConfigValueError("an IPv6 address must be in brackets, e.g. [::1]"))
        }
        if lowered.hasPrefix("*.") {
            let suffix = String(lowered.dropFirst())  // ".example.com"
            guard suffix.count > 1, EndpointURLParser.isValidHostName(String(suffix.dropFirst())) else {
                return .failure(ConfigValueError("invalid host name after '*.'"))
            }
            return .success(.suffix(suffix))
        }
        if lowered.contains("*") {
            return .failure(ConfigValueError("'*' is only allowed as the first label, e.g. *.example.com"))
        }
        guard EndpointURLParser.isValidHostName(lowered) else {
            return .failure(ConfigValueError("invalid host name"))
        }
        return .success(.exact(lowered))
    }
}
