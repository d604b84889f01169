internal import CLibUV
internal import Glibc

/// An IPv4 or IPv6 socket address (value type, copied into libuv calls).
struct SocketAddress {
    private(set) var storage: sockaddr_storage

    init(storage: sockaddr_storage) { self.storage = storage }

    /// Parses an IP literal (no brackets); nil for host names.
    init?(ip: String, port: UInt16) {
        var st = sockaddr_storage()
        let ok: Bool = withUnsafeMutablePointer(to: &st) { p in
            if ip.contains(":") {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(ip, Int32(port), $0) } == 0
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(ip, Int32(port), $0) } == 0
        }
        guard ok else { return nil }
        storage = st
    }

    init(sockaddr sa: UnsafePointer<sockaddr>, port: UInt16) {
        var st = sockaddr_storage()
        withUnsafeMutablePointer(to: &st) { p in
            let raw = UnsafeMutableRawPointer(p)
            if Int32(sa.pointee.sa_family) == AF_INET6 {
                raw.copyMemory(from: sa, byteCount: MemoryLayout<sockaddr_in6>.size)
                raw.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port = port.bigEndian
            } else {
                raw.copyMemory(from: sa, byteCount: MemoryLayout<sockaddr_in>.size)
                raw.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port = port.bigEndian
            }
        }
        storage = st
    }

    var isIPv6: Bool { Int32(storage.ss_family) == AF_INET6 }

    /// The address without port, as two integers (for allow_cidrs checks).
    var ipAddress: IPAddress {
        var st = storage
        return withUnsafeBytes(of: &st) { raw in
            if isIPv6 {
                // sockaddr_in6: family(2) port(2) flowinfo(4) addr(16)
                var hi: UInt64 = 0, lo: UInt64 = 0
                for i in 8..<16 { hi = hi << 8 | UInt64(raw[i]) }
                for i in 16..<24 { lo = lo << 8 | UInt64(raw[i]) }
                return IPAddress(isIPv6: true, hi: hi, lo: lo)
            }
            // sockaddr_in: family(2) port(2) addr(4)
            var v: UInt64 = 0
            for i in 4..<8 { v = v << 8 | UInt64(raw[i]) }
            return IPAddress(isIPv6: false, hi: 0, lo: v)
        }
    }

    @discardableResult
    func withSockAddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>) throws(E) -> R) throws(E) -> R {
        var st = storage
        return try withUnsafePointer(to: &st) { p throws(E) in
            try body(UnsafeRawPointer(p).assumingMemoryBound(to: sockaddr.self))
        }
    }

    /// The address as text without port (for X-Forwarded-For and logs). Made once per connection.
    var ipString: String {
        var buf = [CChar](repeating: 0, count: 64)
        var st = storage
        withUnsafePointer(to: &st) { p in
            if isIPv6 {
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { _ = uv_ip6_name($0, &buf, 64) }
            } else {
                p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { _ = uv_ip4_name($0, &buf, 64) }
            }
        }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
