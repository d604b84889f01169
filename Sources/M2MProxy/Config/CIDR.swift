private import Glibc

/// `10.0.0.0/8`, `192.168.1.5` (= /32), `fd00::/8`, `::1` (= /128): the client addresses an
/// `allow_cidrs` list lets in.
public struct CIDR: Sendable, Equatable, CustomStringConvertible {
    public let network: IPAddress
    public let prefixLength: Int
    private let maskHi: UInt64
    private let maskLo: UInt64

    public static func parse(_ text: String) -> CIDR? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let ip = IPAddress.parse(String(parts[0])) else { return nil }
        let bits = ip.isIPv6 ? 128 : 32
        var prefix = bits
        if parts.count == 2 {
            guard let p = Int(parts[1]), p >= 0, p <= bits else { return nil }
            prefix = p
        }
        return CIDR(ip, prefix)
    }

    private init(_ ip: IPAddress, _ prefix: Int) {
        var mh: UInt64 = 0, ml: UInt64 = 0
        if ip.isIPv6 {
            mh = prefix >= 64 ? ~0 : (prefix == 0 ? 0 : ~0 << UInt64(64 - prefix))
            ml = prefix <= 64 ? 0 : (prefix >= 128 ? ~0 : ~0 << UInt64(128 - prefix))
        } else {
            ml = prefix == 0 ? 0 : (0xFFFF_FFFF << UInt64(32 - prefix)) & 0xFFFF_FFFF
        }
        maskHi = mh
        maskLo = ml
        network = IPAddress(isIPv6: ip.isIPv6, hi: ip.hi & mh, lo: ip.lo & ml)
        prefixLength = prefix
    }

    public func contains(_ a: IPAddress) -> Bool {
        a.isIPv6 == network.isIPv6 && (a.hi & maskHi) == network.hi && (a.lo & maskLo) == network.lo
    }

    public var description: String {
        let bytes: [UInt8] = network.isIPv6
            ? (0..<8).map { UInt8(truncatingIfNeeded: network.hi >> UInt64(56 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: network.lo >> UInt64(56 - 8 * $0)) }
            : (0..<4).map { UInt8(truncatingIfNeeded: network.lo >> UInt64(24 - 8 * $0)) }
        var buf = [CChar](repeating: 0, count: 64)
        bytes.withUnsafeBytes { _ = inet_ntop(network.isIPv6 ? AF_INET6 : AF_INET, $0.baseAddress, &buf, 64) }
        let ip = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(ip)/\(prefixLength)"
    }
}

extension Array where Element == CIDR {
    func allows(_ a: IPAddress) -> Bool { contains { $0.contains(a) } }
}
