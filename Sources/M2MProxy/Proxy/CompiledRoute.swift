/// A route prepared for the data path: byte patterns instead of strings, a method bit mask,
/// pre-formatted header lines, and slots into the per-loop upstream clusters and token cache.
final class CompiledRoute {
    /// Position in the current configuration's route list (metrics, access log); re-pointed by
    /// a reload, -1 once the route is gone.
    var index: Int
    let config: RouteConfig
    let hostBytes: [UInt8]
    let prefixBytes: [UInt8]
    /// Bit n set = llhttp method n allowed; all ones when the route takes any method.
    let methodMask: UInt64
    let upstreamSlot: Int
    /// `tokenSlot` indexes the token cache; nil for routes without a credential.
    let tokenSlot: Int?
    /// Prepended to the client's path (`upstream = "http://api/v1"` → "/v1").
    let basePath: StaticBytes
    /// The upstream speaks HTTP/2 (`h2c://`, or `http2 = true`): compared with the client's
    /// protocol, a difference is where a gRPC request must be refused (`GRPCProtocolCheck`).
    let upstreamHTTP2: Bool

    init(index: Int, config: RouteConfig, upstreamSlot: Int, tokenSlot: Int?) {
        self.index = index
        self.config = config
        self.upstreamSlot = upstreamSlot
        self.tokenSlot = tokenSlot
        switch config.host {
        case .any: hostBytes = []
        case .exact(let h), .suffix(let h): hostBytes = Array(h.lowercased().utf8)
        }
        prefixBytes = config.pathPrefix == "/" ? [] : Array(config.pathPrefix.utf8)
        if let methods = config.methods {
            var mask: UInt64 = 0
            for m in methods {
                if let code = HTTPMethod.code(named: m) { mask |= 1 << UInt64(code) }
            }
            methodMask = mask
        } else {
            methodMask = ~0
        }
        basePath = StaticBytes(config.upstream.path)
        upstreamHTTP2 = config.upstreamHTTP2
    }

    /// Host without port, already lowercased by the caller? No: compared case-insensitively here.
    func matchesHost(_ host: ByteSpan) -> Bool {
        switch config.host {
        case .any:
            return true
        case .exact:
            guard host.count == hostBytes.count else { return false }
            for i in 0..<host.count where asciiLower(host[i]) != hostBytes[i] { return false }
            return true
        case .suffix:
            // ".example.com" matches "a.example.com", never "example.com" itself.
            guard host.count > hostBytes.count else { return false }
            let off = host.count - hostBytes.count
            for i in 0..<hostBytes.count where asciiLower(host[off + i]) != hostBytes[i] { return false }
            return true
        }
    }

    /// Segment-aware: "/products" matches "/products", "/products/1", "/products?x", not "/productsX".
    func matchesPath(_ path: ByteSpan) -> Bool {
        let n = prefixBytes.count
        if n == 0 { return true }
        guard path.count >= n else { return false }
        for i in 0..<n where path[i] != prefixBytes[i] { return false }
        if path.count == n { return true }
        let next = path[n]
        return next == UInt8(ascii: "/") || next == UInt8(ascii: "?")
    }

    func matchesMethod(_ code: Int) -> Bool {
        code >= 0 && code < 64 && (methodMask & (1 << UInt64(code))) != 0
    }
}

@available(*, unavailable)
extension CompiledRoute: Sendable {}
