/// The checks of request validation that are plain functions over parsed values (no
/// connection, no socket), so they are unit-tested directly (`RequestValidationTests`) and
/// shared with the fuzz harness. `ReverseProxyPhases+RequestValidation.swift` applies them.
enum RequestValidation {
    /// True for a `.` or `..` segment, also percent-encoded (`%2e`, RFC 3986 §2.3) and with
    /// `%2f` or `\` as separators, which some upstreams decode or accept before resolving.
    static func hasDotSegment(_ path: ByteSpan) -> Bool {
        // Fast path: most paths contain none of the bytes a dot-segment needs.
        if !path.containsEither(UInt8(ascii: "."), UInt8(ascii: "%")) { return false }
        var dots = 0
        var other = false
        var params = false
        var i = 0
        let n = path.count
        while i <= n {
            var separator = i == n
            var width = 1
            var isDot = false
            if !separator {
                let c = path[i]
                if c == UInt8(ascii: "/") || c == UInt8(ascii: "\\") {
                    separator = true
                } else if c == UInt8(ascii: ".") {
                    isDot = true
                } else if c == UInt8(ascii: "%"), i + 2 < n, path[i + 1] == UInt8(ascii: "2") {
                    let d = path[i + 2] | 0x20
                    if d == UInt8(ascii: "e") { isDot = true; width = 3 }
                    if d == UInt8(ascii: "f") { separator = true; width = 3 }
                } else if c == UInt8(ascii: "%"), i + 2 < n, path[i + 1] == UInt8(ascii: "5"), path[i + 2] | 0x20 == UInt8(ascii: "c") {
                    separator = true
                    width = 3
                } else if c == UInt8(ascii: ";") {
                    // Path parameters ("..;x", as Tomcat and Spring read them) end the segment's name.
                    params = true
                }
            }
            if separator {
                if !other && (dots == 1 || dots == 2) { return true }
                dots = 0
                other = false
                params = false
            } else if params {
                // ignored until the next separator
            } else if isDot {
                dots += 1
            } else {
                other = true
            }
            i += width
        }
        return false
    }

    static func transferEncodingLines(_ p: HTTPParser, count: Int) -> Int {
        var n = 0
        for i in 0..<count where p.headers[i].name.equalsLowercase("transfer-encoding") { n += 1 }
        return n
    }

    /// Exactly one Transfer-Encoding header whose value is `chunked`.
    static func isPlainChunked(_ p: HTTPParser, count: Int) -> Bool {
        var seen = 0
        for i in 0..<count where p.headers[i].name.equalsLowercase("transfer-encoding") {
            seen += 1
            if !p.headers[i].value.trimmed().equalsLowercase("chunked") { return false }
        }
        return seen == 1
    }

    /// Trailer names refused by the request parser (see `HTTPParser.isForbiddenTrailer`).
    static func isForbiddenTrailerName(_ name: ByteSpan) -> Bool {
        switch HeaderKind.classify(name) {
        case .authorization, .proxyAuthorization, .host, .contentLength, .transferEncoding, .connection:
            return true
        default:
            return false
        }
    }
}
