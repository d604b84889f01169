import Foundation
import Glibc

/// Writes pattern bytes on a connection from a thread of its own, so the test can read the
/// server's answer meanwhile (a client that keeps uploading while it is refused). The thread
/// writes on a duplicate of the socket, so closing the connection never races with it; it
/// ends when `count` bytes are sent, the peer closes or resets, or `stop()` is called.
final class BackgroundSender: @unchecked Sendable {
    private let lock = NSLock()
    private var _sent = 0
    private var _finished = false
    private var _stopRequested = false
    private var _error: String?

    init(on connection: RawHTTPConnection, count: Int) {
        let fd = dup(connection.socketDescriptor)
        let thread = Thread { [self] in
            defer {
                if fd >= 0 { Glibc.close(fd) }
                lock.withLock { _finished = true }
            }
            guard fd >= 0 else {
                lock.withLock { _error = "dup failed" }
                return
            }
            let block = PatternStream.block
            var sent = 0
            while sent < count, !lock.withLock({ _stopRequested }) {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&pfd, 1, 100) <= 0 { continue }
                let offset = sent % block.count
                let n = block.withUnsafeBytes { raw in
                    Glibc.send(fd, raw.baseAddress! + offset, min(block.count - offset, count - sent), Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                }
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    let e = errno
                    lock.withLock { _error = String(cString: strerror(e)) }
                    return
                }
                sent += n
                lock.withLock { _sent = sent }
            }
        }
        thread.start()
    }

    /// Bytes written so far.
    var sent: Int { lock.withLock { _sent } }
    /// Why writing ended early (e.g. "Broken pipe" once the server closed), if it did.
    var error: String? { lock.withLock { _error } }
    var finished: Bool { lock.withLock { _finished } }

    /// Asks the thread to stop and waits (≤ `timeout` s) until it has.
    func stop(timeout: Double = 5) {
        lock.withLock { _stopRequested = true }
        try? Wait.until("the background sender to stop", timeout: timeout) { finished }
    }

    deinit { lock.withLock { _stopRequested = true } }
}
