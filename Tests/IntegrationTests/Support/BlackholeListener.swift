import Glibc

/// A local port where TCP connects hang: a listener with backlog 0 that never accepts, whose
/// accept queue is filled by the harness, so Linux drops further SYNs and the connecting side
/// keeps retransmitting. Used for the upstream connect timeout (a "non-routable" address such as
/// 10.255.255.1 is not usable here: this sandbox's network completes any outbound connect).
final class BlackholeListener {
    let port: UInt16
    private let listenFD: Int32
    private var fillers: [Int32] = []

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed") }
        var addr = SocketAddress.loopback(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && listen(fd, 0) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        listenFD = fd
        guard ok else {
            close(fd)
            throw HarnessError("cannot set up the blackhole listener: errno \(errno)")
        }
        port = UInt16(bigEndian: addr.sin_port)
        // Fill the accept queue (backlog 0 admits one, sometimes two, completed connections).
        let port = port
        for _ in 0..<4 { fillers.append(Self.startConnect(port: port)) }
        // Give the handshakes a moment to land in the queue, measured by a probe that hangs.
        try Wait.until("the blackhole's accept queue to fill", timeout: 5) { !Self.connects(port: port, withinMs: 200) }
    }

    /// Non-blocking connect; the descriptor is kept open so its queue slot stays taken.
    private static func startConnect(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = SocketAddress.loopback(port: port)
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return fd
    }

    /// Whether a fresh connect to `port` completes within `withinMs` milliseconds.
    static func connects(port: UInt16, withinMs: Int32) -> Bool {
        let fd = startConnect(port: port)
        defer { close(fd) }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&pfd, 1, withinMs) == 1 else { return false }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        return err == 0
    }

    deinit {
        fillers.forEach { close($0) }
        close(listenFD)
    }
}
