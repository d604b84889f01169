import Testing
@testable import M2MProxy

/// `upstream` as one URL or a list, `balance`, and the endpoint keys of `[limits]`.
extension ConfigTests {
    @Suite struct ConfigLoaderUpstreamsTests {
        private func route(_ body: String) -> String { "[[route]]\n" + body + "\n" }

        @Test func aListGivesEveryEndpoint() throws {
            let r = ConfigTestSupport.parse(route("""
                upstream = ["http://api-1:8080/v1", "http://10.0.0.2:8080/v1", "http://[::1]:8080/v1"]
                balance = "least_request"
                """))
            #expect(r.errors.isEmpty, "\(r.errors)")
            let config = try #require(r.config)
            let u = config.routes[0].upstreams
            #expect(u.map(\.host) == ["api-1", "10.0.0.2", "::1"])
            #expect(config.routes[0].upstream == u[0])
            #expect(config.routes[0].balance == .leastRequest)
        }

        @Test func oneURLIsAListOfOne() throws {
            let config = try #require(ConfigTestSupport.parse(route("upstream = \"http://api:8080\"")).config)
            #expect(config.routes[0].upstreams.count == 1)
            #expect(config.routes[0].balance == .roundRobin)
        }

        @Test func mixedSchemesAndPathsAreReportedByKeyPath() {
            let errors = ConfigTestSupport.errors(route("upstream = [\"http://a:80/v1\", \"https://b/v1\", \"http://c/v2\"]"))
            #expect(errors.contains { $0.hasPrefix("route[0].upstream[1]: scheme https differs from http") })
            #expect(errors.contains { $0.hasPrefix("route[0].upstream[2]: path differs from route[0].upstream[0]") })
        }

        @Test func h2cAndHTTP2SayWhichUpstreamsSpeakHTTP2() throws {
            let config = try #require(ConfigTestSupport.parse(
                route("upstream = \"h2c://grpc:50051\"") + route("upstream = \"https://api\"\nhttp2 = true")
                    + route("upstream = \"https://api\"")).config)
            #expect(config.routes[0].upstream.scheme == .h2c)
            #expect(config.routes[0].upstream.port == 50051)
            #expect(config.routes.map(\.upstreamHTTP2) == [true, true, false])
            #expect(config.routes[1].http2)
            #expect(UpstreamClusterKey(route: config.routes[1]).tls?.offersHTTP2 == true)
            #expect(UpstreamClusterKey(route: config.routes[2]).tls?.offersHTTP2 == false)
            #expect(UpstreamClusterKey(route: config.routes[0]).tls == nil)
        }

        @Test func http2OnlyMeansSomethingForHTTPS() {
            #expect(ConfigTestSupport.errors(route("upstream = \"http://a\"\nhttp2 = true"))
                == ["route[0].http2: needs an https upstream (ALPN h2); for HTTP/2 without TLS write upstream = \"h2c://…\""])
            #expect(ConfigTestSupport.errors(route("upstream = \"https://a\"\nhttp2 = \"yes\"")) == ["route[0].http2: must be true or false"])
            let toml = route("upstream = \"h2c://a\"\nhttp2 = true")
            #expect(ConfigTestSupport.errors(toml).isEmpty)
            #expect(ConfigTestSupport.warnings(toml) == ["route[0].http2: has no effect: h2c:// always speaks HTTP/2"])
            #expect(ConfigTestSupport.errors(route("upstream = [\"h2c://a\", \"http://b\"]"))
                .contains { $0.hasPrefix("route[0].upstream[1]: scheme http differs from h2c") })
        }

        @Test func commaSeparatedStringSuggestsAList() {
            let errors = ConfigTestSupport.errors(route("upstream = \"http://a:80,http://b:80\""))
            #expect(errors.count == 1)
            #expect(errors.first?.hasPrefix("route[0].upstream: holds several URLs in one string: write a list") == true, "\(errors)")
        }

        @Test func badListsAreRefused() {
            #expect(ConfigTestSupport.errors(route("upstream = []")) == ["route[0].upstream: must not be an empty list"])
            #expect(ConfigTestSupport.errors(route("upstream = [\"http://a\", 3]")) == ["route[0].upstream[1]: must be a string"])
            #expect(ConfigTestSupport.errors(route("upstream = [\"http://a\", \"ftp://b\"]")) == ["route[0].upstream[1]: scheme must be http, https or h2c"])
            #expect(ConfigTestSupport.errors(route("upstream = [\"http://a\", \"http://a:80\"]")) == ["route[0].upstream[1]: duplicate endpoint (listed twice)"])
            #expect(ConfigTestSupport.errors(route("")) == ["route[0].upstream: is required"])
            #expect(ConfigTestSupport.errors(route("upstream = \"http://a\"\nbalance = \"random\"")) == ["route[0].balance: must be \"round_robin\" or \"least_request\""])
        }

        @Test func endpointLimits() throws {
            let config = try #require(ConfigTestSupport.parse("""
                [limits]
                dns_refresh_ms = 1000
                max_fails = 1
                fail_timeout_ms = 500
                retries = 0
                """).config)
            #expect(config.limits.dnsRefreshMs == 1000)
            #expect(config.limits.maxFails == 1)
            #expect(config.limits.failTimeoutMs == 500)
            #expect(config.limits.retries == 0)
            let d = LimitsConfig.defaults
            #expect(d.dnsRefreshMs == 5000 && d.maxFails == 3 && d.failTimeoutMs == 10000 && d.retries == 2)
            #expect(ConfigTestSupport.errors("[limits]\nretries = -1") == ["limits.retries: must be between 0 (no failover) and 10"])
            #expect(ConfigTestSupport.errors("[limits]\nmax_fails = 0") == ["limits.max_fails: must be a positive integer"])
            #expect(ConfigTestSupport.errors("[limits]\nfail_timeout_ms = 300001") == ["limits.fail_timeout_ms: must be at most 300000 (5 minutes)"])
            #expect(ConfigTestSupport.errors("[limits]\ndns_refresh_ms = 10") == ["limits.dns_refresh_ms: must be at least 100"])
        }
    }
}
