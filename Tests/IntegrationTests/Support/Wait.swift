import Foundation
import Glibc

/// Polling with a deadline; the harness never sleeps a fixed time to "let things settle".
enum Wait {
    /// Polls `condition` every 20 ms until it is true; throws after `timeout` seconds.
    static func until(_ what: @autoclosure () -> String, timeout: Double = 10, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if try condition() { return }
            if Date() >= deadline { throw HarnessError("timed out after \(timeout) s waiting for \(what())") }
            usleep(20_000)
        }
    }

    /// True if a TCP connection to 127.0.0.1:port is accepted right now.
    static func canConnect(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = SocketAddress.loopback(port: port)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
