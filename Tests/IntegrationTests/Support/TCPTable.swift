import Foundation
import Glibc

/// The kernel's IPv4 TCP socket table (`/proc/net/tcp`), to see from outside whether the proxy
/// still holds a connection open without reading from it (reading would change the outcome).
enum TCPTable {
    /// `st` values of /proc/net/tcp (include/net/tcp_states.h).
    static let established = 0x01
    static let finWait1 = 0x04
    static let finWait2 = 0x05

    /// State of the socket whose local port is `localPort` and remote port `remotePort` on
    /// 127.0.0.1, or nil if there is none (closed, or reset and gone).
    static func state(localPort: UInt16, remotePort: UInt16) throws -> Int? {
        let text = try readAll("/proc/net/tcp")
        func hex(_ port: UInt16) -> String {
            let digits = String(port, radix: 16, uppercase: true)
            return "0100007F:" + String(repeating: "0", count: 4 - digits.count) + digits
        }
        let local = hex(localPort), remote = hex(remotePort)
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3, fields[1] == local, fields[2] == remote else { continue }
            return Int(fields[3], radix: 16)
        }
        return nil
    }

    /// How many IPv4 sockets on 127.0.0.1:`localPort` are in `state`: for a server's port, the
    /// connections it has accepted and still holds (its listening socket is in another state).
    static func count(localPort: UInt16, state: Int) throws -> Int {
        let text = try readAll("/proc/net/tcp")
        let digits = String(localPort, radix: 16, uppercase: true)
        let local = "0100007F:" + String(repeating: "0", count: 4 - digits.count) + digits
        var n = 0
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count > 3, fields[1] == local, Int(fields[3], radix: 16) == state { n += 1 }
        }
        return n
    }

    /// `String(contentsOfFile:)` stops after the first page of a /proc file (it trusts the size
    /// 0 that stat reports); read until end of file instead.
    private static func readAll(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw HarnessError("cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            out += chunk[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
