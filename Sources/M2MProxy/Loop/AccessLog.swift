internal import CLibUV
private import Glibc

/// Serialises flushes of every worker's access log to the shared descriptor: each flush is
/// whole lines, and holding the lock across a flush's write(2) calls (a pipe may take a long
/// buffer in several parts) keeps one loop's lines from landing inside another's.
private let accessLogLock = Locked<Int>(0)

/// One loop's access log: lines are appended to a byte buffer and written to stdout when the
/// buffer is nearly full, every `flushIntervalMs` by the loop's timer, and at exit. One
/// `write(2)` per flush instead of one per request. Each worker loop has its own; flushes of
/// different loops never interleave (`AccessLogSink`).
///
/// A blocked stdout (a full pipe) blocks the loop while it drains: point stdout at a file or a
/// log collector that keeps up, or set `server.access_log = false`.
final class AccessLog {
    static let bufferBytes = 256 * 1024
    static let flushIntervalMs: UInt64 = 100

    private let buffer = OutputBuffer(capacity: AccessLog.bufferBytes)
    private var builder: AccessLogLineBuilder
    private let fd: Int32
    private var timer: RepeatingTimer?

    init(routeNames: [String], upstreams: [String], fd: Int32 = 1) {
        builder = AccessLogLineBuilder(routeNames: routeNames, upstreams: upstreams)
        self.fd = fd
    }

    /// Starts the periodic flush on `loop` (the timer does not keep the loop alive).
    func startTimer(loop: UnsafeMutablePointer<uv_loop_t>) {
        timer = RepeatingTimer(loop: loop, everyMs: Self.flushIntervalMs, unref: true) { [unowned self] in
            flush()
        }
    }

    /// A reload changed the routes: lines name them by their new positions.
    func setRoutes(routeNames: [String], upstreams: [String]) {
        builder = AccessLogLineBuilder(routeNames: routeNames, upstreams: upstreams)
    }

    func stopTimer() {
        timer?.stop()
        timer = nil
    }

    func append(_ record: AccessLogLineBuilder.Record) {
        if buffer.remaining < AccessLogLineBuilder.maxLineBytes { flush() }
        builder.append(record, into: buffer)
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        let base = UnsafeRawPointer(buffer.base)
        let count = buffer.count
        let fd = fd
        accessLogLock.withLock { _ in
            var p = base
            var left = count
            while left > 0 {
                let n = Glibc.write(fd, p, left)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    break  // stdout is gone: drop the lines rather than stop serving
                }
                p += n
                left -= n
            }
        }
        buffer.reset()
    }
}

@available(*, unavailable)
extension AccessLog: Sendable {}
