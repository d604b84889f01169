import Testing
@testable import M2MProxy

@Suite struct RouterTests {
    static func route(_ i: Int, host: HostMatch = .any, prefix: String = "/", methods: [String]? = nil) -> CompiledRoute {
        let up = EndpointURL(scheme: .http, host: "127.0.0.1", port: 8080, path: "/v1", authority: "127.0.0.1:8080")
        let cfg = RouteConfig(
            name: "r\(i)", host: host, pathPrefix: prefix, methods: methods, upstream: up, credentialIndex: nil,
            resource: nil, scopes: [], organizationID: nil, preserveHost: false, tlsCAFile: nil)
        return CompiledRoute(index: i, config: cfg, upstreamSlot: 0, tokenSlot: nil)
    }

    private func match(_ router: Router, host: String, path: String, method: Int = 1) -> Int? {
        var h = Array(host.utf8)
        var p = Array(path.utf8)
        return h.withUnsafeMutableBytes { hb in
            p.withUnsafeMutableBytes { pb in
                let hs = Router.hostWithoutPort(ByteSpan(base: hb.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, count: hb.count))
                return router.match(host: hs, path: ByteSpan(base: pb.baseAddress!, count: pb.count), method: method)?.index
            }
        }
    }

    @Test func segmentAwarePrefix() {
        let r = Router(routes: [Self.route(0, prefix: "/products")])
        #expect(match(r, host: "a", path: "/products") == 0)
        #expect(match(r, host: "a", path: "/products/1") == 0)
        #expect(match(r, host: "a", path: "/products?x=1") == 0)
        #expect(match(r, host: "a", path: "/productsX") == nil)
        #expect(match(r, host: "a", path: "/") == nil)
    }

    @Test func hostMatchesExactSuffixAndAny() {
        let r = Router(routes: [
            Self.route(0, host: .exact("shop.internal")),
            Self.route(1, host: .suffix(".example.com")),
            Self.route(2),
        ])
        #expect(match(r, host: "SHOP.internal:8080", path: "/") == 0)
        #expect(match(r, host: "shop.internal.", path: "/") == 0)
        #expect(match(r, host: "a.b.example.com", path: "/") == 1)
        #expect(match(r, host: "example.com", path: "/") == 2)
        #expect(match(r, host: "", path: "/") == 2)
    }

    @Test func methodsAndFileOrder() {
        let get = HTTPMethod.code(named: "GET")!
        let post = HTTPMethod.code(named: "POST")!
        let r = Router(routes: [Self.route(0, methods: ["GET", "HEAD"]), Self.route(1, prefix: "/")])
        #expect(match(r, host: "a", path: "/x", method: get) == 0)
        #expect(match(r, host: "a", path: "/x", method: post) == 1)
    }

    /// The word-at-a-time port scan agrees with a byte-wise one on hosts with and without
    /// ports, all-digit ones, high bytes, trailing dots and every length around eight.
    @Test func hostWithoutPortAgreesWithAByteScan() {
        func reference(_ a: [UInt8]) -> [UInt8] {
            var end = a.count
            var i = end - 1
            while i >= 0 {
                if a[i] == UInt8(ascii: ":") { end = i; break }
                if a[i] < UInt8(ascii: "0") || a[i] > UInt8(ascii: "9") { break }
                i -= 1
            }
            if end > 0, a[end - 1] == UInt8(ascii: ".") { end -= 1 }
            return Array(a[0..<end])
        }
        var cases: [[UInt8]] = [
            "127.0.0.1:19055", "api.internal:8080", "api.internal", "api.internal.:80", "a:1", "host:", ":8080",
            "12345678", "123456789", "h:123456789", "h:12345678", "h:1234567", "1.2.3.4", "x.example.com.",
            "a\u{00B9}:80", "\u{00B0}\u{00B9}\u{00B9}\u{00B9}\u{00B9}\u{00B9}\u{00B9}\u{00B9}", "abc/:12", "h:9/",
        ].map { Array($0.utf8) }
        // Every byte value in every position of an 8- and a 9-byte authority with a port.
        for len in [8, 9] {
            for pos in 0..<len {
                for b in [0x00, 0x2F, 0x30, 0x39, 0x3A, 0x3B, 0x7F, 0x80, 0xB0, 0xBA, 0xFF] as [UInt8] {
                    var a = Array("ab:12345".utf8) + (len == 9 ? [UInt8(ascii: "6")] : [])
                    a[pos] = b
                    cases.append(a)
                }
            }
        }
        for c in cases {
            var b = c
            let got = b.withUnsafeMutableBytes {
                Array(Router.hostWithoutPort(ByteSpan(base: $0.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, count: $0.count)).buffer)
            }
            #expect(got == reference(c), "\(c)")
        }
    }

    @Test func hostWithoutPortKeepsIPv6Brackets() {
        var b = Array("[::1]:8080".utf8)
        b.withUnsafeMutableBytes {
            #expect(Router.hostWithoutPort(ByteSpan(base: $0.baseAddress!, count: $0.count)).makeString() == "[::1]")
        }
    }
}
