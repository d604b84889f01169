private import Glibc

/// An IP address as two 64-bit halves (IPv4 in the low 32 bits of `lo`), compared without
/// allocation on the data path.
public struct IPAddress: Sendable, Equatable {
    public let isIPv6: Bool
    public let hi: UInt64
    public let lo: UInt64

    public init(isIPv6: Bool, hi: UInt64, lo: UInt64) {
        // IPv4-mapped IPv6 (::ffff:a.b.c.d, what a [::] listener reports for IPv4 peers) is IPv4.
        if isIPv6 && hi == 0 && (lo >> 32) == 0xFFFF {
            self.isIPv6 = false
            self.hi = 0
            self.lo = lo & 0xFFFF_FFFF
        } else {
            self.isIPv6 = isIPv6
            self.hi = hi
            self.lo = lo
        }
    }

    /// Parses an IP literal (no brackets, no port).
    public static func parse(_ text: String) -> IPAddress? {
        if text.contains(":") {
            var a = in6_addr()
            guard inet_pton(AF_INET6, text, &a) == 1 else { return nil }
            return withUnsafeBytes(of: a) { raw in
                var hi: UInt64 = 0, lo: UInt64 = 0
                for i in 0..<8 { hi = hi << 8 | UInt64(raw[i]) }
                for i in 8..<16 { lo = lo << 8 | UInt64(raw[i]) }
                return IPAddress(isIPv6: true, hi: hi, lo: lo)
            }
        }
        var a = in_addr()
        guard inet_pton(AF_INET, text, &a) == 1 else { return nil }
        return IPAddress(isIPv6: false, hi: 0, lo: UInt64(UInt32(bigEndian: a.s_addr)))
    }

    public var isLoopback: Bool {
        isIPv6 ? (hi == 0 && lo == 1) : (lo >> 24) == 127
    }
}
