/// First match in file order on host, path prefix and method (DESIGN.md §3), through an index
/// (`RouteIndex`) whose cost does not grow with the number of routes: 1,000 path-prefix routes
/// cost a request what one does. `linearMatchRef` is the definition the index must agree with
/// (the property tests compare them on random routes and requests).
final class Router {
    /// Up to this many routes the scan is cheaper than the index (callgrind: the index costs
    /// ≈ 290 instructions per request whatever the table, the scan ≈ 85 plus ≈ 30 per route
    /// passed over), so small tables keep it.
    static let linearLimit = 4

    let routes: [CompiledRoute]
    /// The same routes unretained, for the data path (`matchRef`): the router keeps them alive,
    /// and loading a class out of an Array costs a retain/release pair.
    private let refs: ContiguousArray<Unmanaged<CompiledRoute>>
    private let index: RouteIndex
    private let scans: Bool

    /// `linearLimit`: tables up to this size are scanned (tests pass -1 to always use the index).
    init(routes: [CompiledRoute], linearLimit: Int = Router.linearLimit) {
        self.routes = routes
        scans = routes.count <= linearLimit
        refs = ContiguousArray(routes.map { Unmanaged.passUnretained($0) })
        index = RouteIndex(routes.map {
            RouteIndex.Key(host: $0.config.host, hostBytes: $0.hostBytes, prefixBytes: $0.prefixBytes, methodMask: $0.methodMask)
        })
    }

    /// `host` is the request's host without port (empty when absent); `path` excludes the query.
    func match(host: ByteSpan, path: ByteSpan, method: Int) -> CompiledRoute? {
        matchRef(host: host, path: path, method: method)?.takeUnretainedValue()
    }

    /// `match` without ARC: the route stays alive as long as this router (which the worker keeps,
    /// also after a reload).
    func matchRef(host: ByteSpan, path: ByteSpan, method: Int) -> Unmanaged<CompiledRoute>? {
        if scans { return linearMatchRef(host: host, path: path, method: method) }
        guard let i = index.firstMatch(host: host, path: path, method: method) else { return nil }
        return refs[i]
    }

    /// The definition of a match: every route in file order, the first that takes host, path and
    /// method. O(routes); the tests' oracle for `matchRef`.
    func linearMatchRef(host: ByteSpan, path: ByteSpan, method: Int) -> Unmanaged<CompiledRoute>? {
        for r in refs {
            let hit = r._withUnsafeGuaranteedRef { $0.matchesHost(host) && $0.matchesPath(path) && $0.matchesMethod(method) }
            if hit { return r }
        }
        return nil
    }

    /// The host part of a Host header or absolute-form authority: port and a trailing dot removed;
    /// IPv6 literals keep their brackets.
    static func hostWithoutPort(_ authority: ByteSpan) -> ByteSpan {
        var end = authority.count
        if end > 0, authority[0] == UInt8(ascii: "[") {
            var i = 0
            while i < end, authority[i] != UInt8(ascii: "]") { i += 1 }
            return authority.slice(from: 0, to: min(i + 1, end))
        }
        // The port: the digits after the last byte that is not one, when that byte is ':'.
        // From 8 bytes on, the last word's non-digit bytes are found at once (callgrind: a byte
        // step per port digit otherwise); eight digits at the end take the byte loop.
        let lastNonDigit = end >= 8 ? Self.lastNonDigit(inWordEndingAt: authority) : nil
        if let i = lastNonDigit {
            if authority[i] == UInt8(ascii: ":") { end = i }
        } else {
            var i = end - 1
            while i >= 0 {
                let c = authority[i]
                if c == UInt8(ascii: ":") { end = i; break }
                if c < UInt8(ascii: "0") || c > UInt8(ascii: "9") { break }
                i -= 1
            }
        }
        if end > 0, authority[end - 1] == UInt8(ascii: ".") { end -= 1 }
        return authority.slice(from: 0, to: end)
    }

    /// The index of the last byte of `s` (8 bytes or more) that is not an ASCII digit, when one
    /// of its last eight bytes is not; nil when all eight are digits. Per byte x = b ^ '0' (a
    /// digit becomes 0...9): bit 7 of ((x & 0x7F) + 0x76) | x is set exactly when x >= 10.
    @inline(__always)
    static func lastNonDigit(inWordEndingAt s: ByteSpan) -> Int? {
        let x = s.base.loadUnaligned(fromByteOffset: s.count - 8, as: UInt64.self) ^ 0x3030_3030_3030_3030
        let t = (((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080
        guard t != 0 else { return nil }
        // Little-endian: the highest flagged byte is the last one in the string.
        return s.count - 8 + (63 - t.leadingZeroBitCount) >> 3
    }
}

@available(*, unavailable)
extension Router: Sendable {}
