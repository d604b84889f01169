import Testing
@testable import M2MProxy

/// Which routes share an upstream pool (`RouteTable`).
@Suite struct UpstreamPoolKeyTests {
    /// One route per upstream, each on its own path prefix; `extra` is added to the last one.
    private func keys(_ upstreams: [String], lastExtra extra: String = "") throws -> [UpstreamPoolKey] {
        var toml = ""
        for (i, u) in upstreams.enumerated() {
            toml += "[[route]]\nname = \"r\(i)\"\npath_prefix = \"/p\(i)\"\nupstream = \"\(u)\"\n"
        }
        let routes = try #require(ConfigTestSupport.parse(toml + extra).config).routes
        return routes.map(UpstreamPoolKey.init(route:))
    }

    @Test func sameUpstreamSharesAPoolWhateverThePath() throws {
        let k = try keys(["http://api:8080/v1", "http://api:8080/v2"])
        #expect(k[0] == k[1])
    }

    @Test func schemePortAndConnectionLimitSeparatePools() throws {
        let k = try keys(["http://api:8443", "https://api:8443", "http://api:8080", "http://api:8443"],
                         lastExtra: "max_upstream_connections = 2\n")
        #expect(Set(k).count == 4)
        #expect(k[0].tls == nil && k[1].tls != nil)
        #expect(k[3].limitedRoute == "r3" && k[3].maxConnections == 2)
    }
}
