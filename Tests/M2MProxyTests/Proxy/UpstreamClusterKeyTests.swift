import Testing
@testable import M2MProxy

/// Which routes share an upstream cluster, i.e. their endpoints and pools (`RouteTable`).
@Suite struct UpstreamClusterKeyTests {
    /// One route per upstream (raw TOML value), each on its own path prefix; `extra` is added to
    /// the last one.
    private func keys(_ upstreams: [String], lastExtra extra: String = "") throws -> [UpstreamClusterKey] {
        var toml = ""
        for (i, u) in upstreams.enumerated() {
            toml += "[[route]]\nname = \"r\(i)\"\npath_prefix = \"/p\(i)\"\nupstream = \(u.hasPrefix("[") ? u : "\"\(u)\"")\n"
        }
        let routes = try #require(ConfigTestSupport.parse(toml + extra).config).routes
        return routes.map { UpstreamClusterKey(route: $0) }
    }

    @Test func sameUpstreamSharesAClusterWhateverThePath() throws {
        let k = try keys(["http://api:8080/v1", "http://api:8080/v2"])
        #expect(k[0] == k[1])
    }

    @Test func schemePortAndConnectionLimitSeparateClusters() throws {
        let k = try keys(["http://api:8443", "https://api:8443", "http://api:8080", "http://api:8443"],
                         lastExtra: "max_upstream_connections = 2\n")
        #expect(Set(k).count == 4)
        #expect(k[0].tls == nil && k[1].tls != nil)
        #expect(k[3].limitedRoute == "r3" && k[3].maxConnections == 2)
    }

    @Test func listsAndBalanceSeparateClusters() throws {
        let k = try keys(["[\"http://a\", \"http://b\"]", "[\"http://a\", \"http://b\"]", "[\"http://b\", \"http://a\"]",
                          "[\"http://a\", \"http://b\"]"], lastExtra: "balance = \"least_request\"\n")
        #expect(k[0] == k[1])
        #expect(k[0] != k[2], "the order is the round-robin order")
        #expect(k[0] != k[3])
    }
}
