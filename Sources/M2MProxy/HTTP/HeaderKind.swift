/// The request and response headers the proxy acts on, recognised by name without building
/// strings, and what happens to each on its way in either direction (h2o's `token.h` flags):
/// `droppedTowardUpstream` and `droppedTowardClient` are the whole hop-by-hop policy. The
/// exceptions that depend on the exchange (Authorization on token routes, X-Request-Id when the
/// proxy replaces it, Upgrade while upgrading) are taken where the heads are written.
enum HeaderKind: UInt8 {
    case other
    case host
    case authorization
    case connection
    case keepAlive
    case proxyConnection
    case te
    case trailer
    case upgrade
    case proxyAuthorization
    case xForwardedFor
    case xForwardedHost
    case xForwardedProto
    case expect
    case transferEncoding
    case contentLength
    /// Kept or replaced by the logging phase (`ClientConnection+Logging.swift`).
    case xRequestID
    /// A request header not forwarded because its name has `_` (`headers_with_underscores`).
    case underscored

    /// Whether a `Connection` header may remove this header. Framing and routing headers
    /// (Content-Length, Transfer-Encoding, Host, ...) never: the proxy frames the message by them,
    /// so letting a client strip them toward the upstream would desynchronise the two parsers
    /// (request smuggling).
    var isNominatable: Bool { self == .other }

    /// Hop-by-hop (RFC 9110 §7.6.1 and the de-facto ones): never forwarded in either direction.
    var isHopByHop: Bool {
        switch self {
        case .connection, .keepAlive, .proxyConnection, .te, .trailer, .upgrade, .proxyAuthorization: true
        default: false
        }
    }

    /// Whether a name with `_` reads as Content-Length, Transfer-Encoding, Host or Connection
    /// once each `_` is taken for `-` (as gunicorn, puma, waitress and h2o do): such a header
    /// would be a second framing (or routing) field behind the proxy, so it is never forwarded.
    static func readsAsFraming(_ name: ByteSpan) -> Bool {
        func same(_ lower: StaticString) -> Bool {
            guard name.count == lower.utf8CodeUnitCount else { return false }
            let l = lower.utf8Start
            for i in 0..<name.count {
                let c = name[i] == UInt8(ascii: "_") ? UInt8(ascii: "-") : asciiLower(name[i])
                if c != l[i] { return false }
            }
            return true
        }
        return same("content-length") || same("transfer-encoding") || same("host") || same("connection")
    }

    /// Left out of the request head sent upstream: hop-by-hop, or replaced by the proxy's own
    /// line (Host unless `preserve_host` — written separately either way —, X-Forwarded-*), or
    /// answered by the proxy itself (Expect: 100-continue). Upgrade is kept while upgrading.
    var droppedTowardUpstream: Bool {
        switch self {
        case .host, .xForwardedFor, .xForwardedHost, .xForwardedProto, .expect, .underscored: true
        default: isHopByHop
        }
    }

    /// Left out of the response head sent to the client: hop-by-hop (the proxy writes its own
    /// Connection line). Upgrade is kept on a 101.
    var droppedTowardClient: Bool { isHopByHop }

    /// This kind's bit in a set of kinds (a `UInt32`; 18 kinds).
    @inline(__always)
    var bit: UInt32 { 1 << UInt32(rawValue) }

    /// The kinds `droppedTowardClient` (the hop-by-hop ones), as a set of `bit`s: one test per
    /// header instead of a switch. Computed, so that it folds to a constant where it is used
    /// (`HeaderKindTests` checks it against `droppedTowardClient`).
    @inline(__always)
    static var droppedTowardClientSet: UInt32 {
        connection.bit | keepAlive.bit | proxyConnection.bit | te.bit | trailer.bit | upgrade.bit | proxyAuthorization.bit
    }

    /// Inlined into the three header loops that call it (request validation, both response
    /// filters): a call per header cost its frame (callgrind: ~7 instructions per header).
    @inline(__always)
    static func classify(_ name: ByteSpan) -> HeaderKind {
        // Dispatch on length first: most headers are rejected after one comparison.
        switch name.count {
        case 2: return name.equalsLowercase("te") ? .te : .other
        case 4: return name.equalsLowercase("host") ? .host : .other
        case 6: return name.equalsLowercase("expect") ? .expect : .other
        case 7:
            if name.equalsLowercase("trailer") { return .trailer }
            if name.equalsLowercase("upgrade") { return .upgrade }
            return .other
        case 10:
            if name.equalsLowercase("connection") { return .connection }
            if name.equalsLowercase("keep-alive") { return .keepAlive }
            return .other
        case 12: return name.equalsLowercase("x-request-id") ? .xRequestID : .other
        case 13: return name.equalsLowercase("authorization") ? .authorization : .other
        case 14: return name.equalsLowercase("content-length") ? .contentLength : .other
        case 15: return name.equalsLowercase("x-forwarded-for") ? .xForwardedFor : .other
        case 16:
            if name.equalsLowercase("proxy-connection") { return .proxyConnection }
            if name.equalsLowercase("x-forwarded-host") { return .xForwardedHost }
            return .other
        case 17:
            if name.equalsLowercase("transfer-encoding") { return .transferEncoding }
            if name.equalsLowercase("x-forwarded-proto") { return .xForwardedProto }
            return .other
        case 19: return name.equalsLowercase("proxy-authorization") ? .proxyAuthorization : .other
        default: return .other
        }
    }
}

/// Header names listed in a `Connection` header (RFC 9110 §7.6.1): they are hop-by-hop too.
/// Eight slots kept inline; a request naming more is refused (`overflow`), since an option we
/// could not record would be forwarded.
struct ConnectionTokens {
    private(set) var spans: (ByteSpan, ByteSpan, ByteSpan, ByteSpan, ByteSpan, ByteSpan, ByteSpan, ByteSpan) =
        (.empty, .empty, .empty, .empty, .empty, .empty, .empty, .empty)
    private(set) var count = 0
    private(set) var close = false
    private(set) var keepAlive = false
    private(set) var upgrade = false
    private(set) var overflow = false

    mutating func reset() {
        count = 0
        overflow = false
        close = false
        keepAlive = false
        upgrade = false
    }

    /// Splits one Connection header value on commas. The usual whole value ("keep-alive" from
    /// an upstream, "close") is recognised inline, before any trimming or splitting (a call
    /// and a trim per response otherwise: callgrind).
    @inline(__always)
    mutating func add(value: ByteSpan) {
        if value.equalsLowercase("keep-alive") {
            keepAlive = true
            return
        }
        if value.equalsLowercase("close") {
            close = true
            return
        }
        addSplitting(value)
    }

    private mutating func addSplitting(_ value: ByteSpan) {
        var start = 0
        for i in 0...value.count {
            if i == value.count || value[i] == UInt8(ascii: ",") {
                let token = value.slice(from: start, to: i).trimmed()
                start = i + 1
                if token.isEmpty { continue }
                if token.equalsLowercase("close") {
                    close = true
                } else if token.equalsLowercase("keep-alive") {
                    keepAlive = true
                } else if token.equalsLowercase("upgrade") {
                    upgrade = true
                } else if count < 8 {
                    withUnsafeMutableBytes(of: &spans) { raw in
                        raw.baseAddress!.assumingMemoryBound(to: ByteSpan.self)[count] = token
                    }
                    count += 1
                } else {
                    overflow = true
                }
            }
        }
    }

    func names(_ name: ByteSpan) -> Bool {
        guard count > 0 else { return false }
        return withUnsafeBytes(of: spans) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: ByteSpan.self)
            for i in 0..<count where p[i].count == name.count {
                var same = true
                for j in 0..<name.count where asciiLower(p[i][j]) != asciiLower(name[j]) {
                    same = false
                    break
                }
                if same { return true }
            }
            return false
        }
    }
}
