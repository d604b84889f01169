private import Glibc

/// Formats one access-log line (JSON, DESIGN.md §6 companion) by appending bytes to an
/// `OutputBuffer`: no `String` is built for a successful request. Route names and upstream
/// addresses are JSON literals prepared once; request bytes (method, path, request ID) are
/// escaped as they are copied.
///
/// Never logged: header values other than the request ID, the query string, tokens, secrets.
struct AccessLogLineBuilder {
    /// Longer paths are cut (the line stays bounded; the cut is marked with "...").
    static let maxPathBytes = 2048
    static let maxMethodBytes = 32
    /// Upper bound of one line, for the owner's flush decision.
    static let maxLineBytes = 1024 + OutputBuffer.jsonStringBound(maxPathBytes + 3)
        + OutputBuffer.jsonStringBound(maxMethodBytes) + OutputBuffer.jsonStringBound(RequestLog.maxClientIDLength)
        + 2 * maxLiteralBytes
    /// Route names and upstream addresses longer than this are cut (they come from the config).
    static let maxLiteralBytes = 512

    enum HTTPVersion { case http10, http11, http2 }

    struct Record {
        var wallSeconds: Int
        var wallNanos: Int
        var requestID: ByteSpan
        /// The TCP peer's address (the `client` field).
        var client: ByteSpan = .empty
        /// nil = no route matched.
        var routeIndex: Int?
        var method: ByteSpan
        /// The client's protocol: HTTP/1.1 (also for unparsed heads), HTTP/1.0 or HTTP/2.
        var version: HTTPVersion = .http11
        /// Path and query as received; the query is dropped here.
        var target: ByteSpan
        var status: Int
        var bytesIn: UInt64
        var bytesOut: UInt64
        var durationNs: UInt64
        /// nil = the upstream was not contacted.
        var upstreamNs: UInt64?
        var tokenWaitNs: UInt64
        var error: String?
        var upstreamError: UpstreamErrorKind?
        /// The endpoint's `"ip:port"` JSON literal; nil = the route's first URL (`host:port`).
        var endpoint: UnsafeRawBufferPointer? = nil
    }

    /// `"name"` per route index.
    private let routeLiterals: [[UInt8]]
    /// `"host:port"` per route index.
    private let upstreamLiterals: [[UInt8]]
    private var stampSecond = Int.min
    /// `YYYY-MM-DDTHH:MM:SS` of `stampSecond`.
    private var stamp = [UInt8](repeating: 0, count: 19)

    init(routeNames: [String], upstreams: [String]) {
        routeLiterals = routeNames.map(Self.literal)
        upstreamLiterals = upstreams.map(Self.literal)
    }

    private static func literal(_ s: String) -> [UInt8] {
        let b = OutputBuffer(capacity: OutputBuffer.jsonStringBound(maxLiteralBytes))
        Array(s.utf8.prefix(maxLiteralBytes)).withUnsafeBytes { b.appendJSONString($0) }
        return Array(b.bytes)
    }

    mutating func append(_ r: Record, into out: OutputBuffer) {
        out.append("{\"time\":\"")
        appendTime(r, into: out)
        out.append("\",\"request_id\":")
        out.appendJSONString(r.requestID.buffer)
        out.append(",\"client\":")
        out.appendJSONString(r.client.buffer)
        out.append(",\"route\":")
        if let i = r.routeIndex, i >= 0, i < routeLiterals.count {
            routeLiterals[i].withUnsafeBytes { out.append($0.baseAddress!, $0.count) }
        } else {
            out.append("null")
        }
        out.append(",\"method\":")
        out.appendJSONString(r.method.slice(from: 0, to: min(r.method.count, Self.maxMethodBytes)).buffer)
        switch r.version {
        case .http11: out.append(",\"protocol\":\"HTTP/1.1\"")
        case .http10: out.append(",\"protocol\":\"HTTP/1.0\"")
        case .http2: out.append(",\"protocol\":\"HTTP/2\"")
        }
        out.append(",\"path\":")
        var pathEnd = r.target.count
        for i in 0..<r.target.count where r.target[i] == UInt8(ascii: "?") {
            pathEnd = i
            break
        }
        if pathEnd > Self.maxPathBytes {
            // Mark the cut inside the string: `"…/abc..."`.
            out.appendJSONString(r.target.slice(from: 0, to: Self.maxPathBytes).buffer)
            out.reopenString()
            out.append("...\"")
        } else {
            out.appendJSONString(r.target.slice(from: 0, to: pathEnd).buffer)
        }
        out.append(",\"status\":")
        out.appendDecimal(UInt64(max(r.status, 0)))
        out.append(",\"bytes_in\":")
        out.appendDecimal(r.bytesIn)
        out.append(",\"bytes_out\":")
        out.appendDecimal(r.bytesOut)
        out.append(",\"duration_ms\":")
        out.appendMilliseconds(nanos: r.durationNs)
        out.append(",\"upstream_ms\":")
        if let u = r.upstreamNs { out.appendMilliseconds(nanos: u) } else { out.append("null") }
        out.append(",\"upstream\":")
        if let e = r.endpoint {
            out.append(e.baseAddress!, e.count)
        } else if let i = r.routeIndex, i >= 0, i < upstreamLiterals.count {
            upstreamLiterals[i].withUnsafeBytes { out.append($0.baseAddress!, $0.count) }
        } else {
            out.append("null")
        }
        out.append(",\"token_wait_ms\":")
        out.appendMilliseconds(nanos: r.tokenWaitNs)
        out.append(",\"error\":")
        appendOptional(r.error, into: out)
        out.append(",\"upstream_error\":")
        appendOptional(r.upstreamError?.label, into: out)
        out.append("}\n")
    }

    private func appendOptional(_ s: String?, into out: OutputBuffer) {
        guard var s else {
            out.append("null")
            return
        }
        s.withUTF8 { out.appendJSONString(UnsafeRawBufferPointer($0)) }
    }

    /// ISO 8601 UTC with milliseconds; the date part is formatted once per second.
    private mutating func appendTime(_ r: Record, into out: OutputBuffer) {
        if r.wallSeconds != stampSecond {
            stampSecond = r.wallSeconds
            var t = tm()
            var secs = time_t(r.wallSeconds)
            gmtime_r(&secs, &t)
            let b = OutputBuffer(capacity: 19)
            b.appendPadded(Int(t.tm_year) + 1900, width: 4)
            b.append(UInt8(ascii: "-"))
            b.appendPadded(Int(t.tm_mon) + 1, width: 2)
            b.append(UInt8(ascii: "-"))
            b.appendPadded(Int(t.tm_mday), width: 2)
            b.append(UInt8(ascii: "T"))
            b.appendPadded(Int(t.tm_hour), width: 2)
            b.append(UInt8(ascii: ":"))
            b.appendPadded(Int(t.tm_min), width: 2)
            b.append(UInt8(ascii: ":"))
            b.appendPadded(Int(t.tm_sec), width: 2)
            stamp = Array(b.bytes)
        }
        stamp.withUnsafeBytes { out.append($0.baseAddress!, $0.count) }
        out.append(UInt8(ascii: "."))
        out.appendPadded(r.wallNanos / 1_000_000, width: 3)
        out.append(UInt8(ascii: "Z"))
    }

    /// Wall-clock time now, for `Record.wallSeconds/wallNanos`.
    static func wallClock() -> (seconds: Int, nanos: Int) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (Int(ts.tv_sec), Int(ts.tv_nsec))
    }
}
