internal import CLibUV
internal import Glibc

/// In-process stream pairs: an HTTP/2 stream is handed to an ordinary client connection over one
/// (`H2StreamBridge`), so it runs exactly the HTTP/1.1 phases.
extension UVStream {
    /// A connected AF_UNIX stream pair, non-blocking and close-on-exec; nil when out of fds.
    static func socketPair() -> (Int32, Int32)? {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { return nil }
        return (fds[0], fds[1])
    }

    /// Takes over `fd` (one end of `socketPair`); on failure the fd is closed.
    func adopt(fd: Int32) -> Bool {
        if uv_tcp_open(tcp, fd) == 0 { return true }
        Glibc.close(fd)
        return false
    }

    /// Closes a pair's fd that no stream took.
    static func discard(fd: Int32) { Glibc.close(fd) }
}
