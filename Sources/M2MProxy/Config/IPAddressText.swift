import Glibc

/// Validates and canonicalises IP address literals with `inet_pton`/`inet_ntop`, so that
/// `[0:0::0]` and `[::]` compare equal and typos are caught at load time rather than at bind.
enum IPAddressText {
    /// Canonical text of an IPv4 literal (dotted quad), or nil.
    static func canonicalIPv4(_ text: String) -> String? {
        canonical(text, family: AF_INET, size: 4, textSize: Int(INET_ADDRSTRLEN))
    }

    /// Canonical text of an IPv6 literal without brackets (lowercase, `::` compressed), or nil.
    /// Zone ids (`fe80::1%eth0`) are not accepted.
    static func canonicalIPv6(_ text: String) -> String? {
        canonical(text, family: AF_INET6, size: 16, textSize: Int(INET6_ADDRSTRLEN))
    }

    private static func canonical(_ text: String, family: Int32, size: Int, textSize: Int) -> String? {
        var address = [UInt8](repeating: 0, count: size)
        let parsed = address.withUnsafeMutableBytes { inet_pton(family, text, $0.baseAddress) }
        guard parsed == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: textSize + 1)
        let ok = address.withUnsafeBytes { raw in
            buffer.withUnsafeMutableBufferPointer { out in
                inet_ntop(family, raw.baseAddress, out.baseAddress, socklen_t(textSize)) != nil
            }
        }
        guard ok else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
