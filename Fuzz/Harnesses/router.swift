// libFuzzer target: Router.match and Router.hostWithoutPort on arbitrary host, path and method
// against a few compiled routes (exact, suffix and any host; nested prefixes; method lists).
//
// Input: byte 0 = llhttp method code (0...255: llhttp's uint8_t, plus values past 63), then host and path
// separated by the first 0x00 byte (no 0x00: all host, path "/").
// Invariants: no crash; hostWithoutPort returns a prefix of its input without a trailing ":port"
// and one trailing "."; a match is the FIRST route whose host, path and method all match, computed here
// independently from RouteConfig; its prefix really is a segment prefix of the path.
@testable import M2MProxy

private let routes: [CompiledRoute] = {
    let up = EndpointURL(scheme: .http, host: "127.0.0.1", port: 8080, path: "/v1", authority: "127.0.0.1:8080")
    let specs: [(HostMatch, String, [String]?)] = [
        (.exact("shop.internal"), "/products", ["GET", "HEAD"]),
        (.exact("shop.internal"), "/products/admin", nil),
        (.suffix(".example.com"), "/api/v2", ["POST", "PUT", "PATCH"]),
        (.exact("[::1]"), "/", ["DELETE"]),
        (.exact("10.0.0.1"), "/a/b/c", nil),
        (.any, "/admin", ["POST"]),
        (.any, "/", ["GET"]),
    ]
    return specs.enumerated().map { i, s in
        let cfg = RouteConfig(
            name: "r\(i)", host: s.0, pathPrefix: s.1, methods: s.2, upstream: up, credentialIndex: nil,
            resource: nil, scopes: [], organizationID: nil, preserveHost: false, tlsCAFile: nil)
        return CompiledRoute(index: i, config: cfg, upstreamSlot: 0, tokenSlot: nil)
    }
}()
private let router = Router(routes: routes)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRouter(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    // llhttp's method field is a uint8_t (codes 0...46 today): 0...255 covers all the proxy can
    // pass. A negative Int traps in CompiledRoute.matchesMethod (see Fuzz/README.md, findings).
    let method = Int(data[0])
    let rest = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let sep = rest.firstIndex(of: 0) ?? rest.count
    // Copies into exact-size allocations: ASan reports any read past the host or path.
    let hostBytes = Array(rest[0..<sep])
    let pathBytes = sep < rest.count ? Array(rest[(sep + 1)...]) : Array("/".utf8)
    let hostMem = UnsafeMutableRawBufferPointer.allocate(byteCount: hostBytes.count, alignment: 1)
    let pathMem = UnsafeMutableRawBufferPointer.allocate(byteCount: pathBytes.count, alignment: 1)
    defer { hostMem.deallocate(); pathMem.deallocate() }
    hostMem.copyBytes(from: hostBytes)
    pathMem.copyBytes(from: pathBytes)
    let authority = ByteSpan(base: UnsafeRawPointer(hostMem.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!), count: hostBytes.count)
    let path = ByteSpan(base: UnsafeRawPointer(pathMem.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!), count: pathBytes.count)

    let host = Router.hostWithoutPort(authority)
    check(host.count >= 0 && host.count <= authority.count, "host length")
    check(host.count == 0 || host.base == authority.base, "host not a prefix")
    let h = Array(hostBytes[0..<host.count])
    if hostBytes.first != UInt8(ascii: "[") {
        // Reference: drop ":<digits>" at the end, then one trailing dot ("a.." keeps "a.").
        var e = hostBytes.count
        var i = e - 1
        while i >= 0, hostBytes[i] >= UInt8(ascii: "0"), hostBytes[i] <= UInt8(ascii: "9") { i -= 1 }
        if i >= 0, hostBytes[i] == UInt8(ascii: ":") { e = i }
        if e > 0, hostBytes[e - 1] == UInt8(ascii: ".") { e -= 1 }
        check(h.count == e, "hostWithoutPort disagrees with the reference")
    } else {
        check(h.last == UInt8(ascii: "]") || h.count == hostBytes.count, "IPv6 literal cut inside the brackets")
    }

    let got = router.match(host: host, path: path, method: method)
    let want = routes.first { reference($0.config, host: h, path: pathBytes, method: method) }
    check(got?.index == want?.index, "router disagrees with the reference")
    if let r = got, r.config.pathPrefix != "/" {
        let pre = Array(r.config.pathPrefix.utf8)
        check(pathBytes.starts(with: pre), "matched path lacks the prefix")
        check(pathBytes.count == pre.count || pathBytes[pre.count] == UInt8(ascii: "/") || pathBytes[pre.count] == UInt8(ascii: "?"),
              "prefix not on a segment boundary")
    }
    return 0
}

/// DESIGN.md §3 routing, written from the config rather than the compiled bytes.
private func reference(_ c: RouteConfig, host: [UInt8], path: [UInt8], method: Int) -> Bool {
    let lower = host.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
    switch c.host {
    case .any: break
    case .exact(let e): if lower != Array(e.utf8) { return false }
    case .suffix(let s):
        let sb = Array(s.utf8)
        if !(lower.count > sb.count && Array(lower.suffix(sb.count)) == sb) { return false }
    }
    if c.pathPrefix != "/" {
        let pre = Array(c.pathPrefix.utf8)
        guard path.starts(with: pre) else { return false }
        if path.count > pre.count && path[pre.count] != UInt8(ascii: "/") && path[pre.count] != UInt8(ascii: "?") { return false }
    }
    if let methods = c.methods {
        return methods.contains { HTTPMethod.code(named: $0) == method }
    }
    return true
}

private func check(_ ok: Bool, _ what: StaticString) {
    if !ok { fatalError("invariant: \(what)") }
}
