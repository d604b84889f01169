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

    @Test func hostWithoutPortKeepsIPv6Brackets() {
        var b = Array("[::1]:8080".utf8)
        b.withUnsafeMutableBytes {
            #expect(Router.hostWithoutPort(ByteSpan(base: $0.baseAddress!, count: $0.count)).makeString() == "[::1]")
        }
    }
}
