private import Glibc

/// A minimal leveled logger to stderr. Callers pass `Secret` values only as `<redacted>`
/// (its description); token and secret bytes never reach a log line (STYLE.md §9).
public final class Log: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug = 0, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        public init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warning
            case "error": self = .error
            default: return nil
            }
        }

        var name: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warn"
            case .error: "error"
            }
        }
    }

    public let level: Level

    public init(level: Level) { self.level = level }

    public func debug(_ m: @autoclosure () -> String) { emit(.debug, m) }
    public func info(_ m: @autoclosure () -> String) { emit(.info, m) }
    public func warning(_ m: @autoclosure () -> String) { emit(.warning, m) }
    public func error(_ m: @autoclosure () -> String) { emit(.error, m) }

    private func emit(_ l: Level, _ m: () -> String) {
        guard l >= level else { return }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var tm = tm()
        var secs = ts.tv_sec
        gmtime_r(&secs, &tm)
        let stamp = "\(tm.tm_year + 1900)-\(pad(tm.tm_mon + 1))-\(pad(tm.tm_mday))T\(pad(tm.tm_hour)):\(pad(tm.tm_min)):\(pad(tm.tm_sec))Z"
        let line = "\(stamp) \(l.name) \(m())\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    private func pad(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
}
