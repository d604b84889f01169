import Glibc

/// IPv4 `sockaddr_in` construction for the raw sockets of the harness.
enum SocketAddress {
    static func loopback(port: UInt16) -> sockaddr_in { ipv4("127.0.0.1", port: port)! }

    static func ipv4(_ host: String, port: UInt16) -> sockaddr_in? {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { return nil }
        return addr
    }
}
