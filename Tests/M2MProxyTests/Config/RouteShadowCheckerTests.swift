import Testing
@testable import M2MProxy

extension ConfigTests {
    @Suite struct RouteShadowCheckerTests {
        func route(_ name: String, host: HostMatch = .any, path: String = "/", methods: [String]? = nil) -> RouteConfig {
            RouteConfig(
                name: name, host: host, pathPrefix: path, methods: methods,
                upstream: EndpointURL(scheme: .http, host: "api", port: 80, path: "", authority: "api"),
                credentialIndex: nil, resource: nil, scopes: [], organizationID: nil, preserveHost: false, tlsCAFile: nil)
        }

        @Test func hostCoverage() {
            #expect(RouteShadowChecker.hostCovers(.any, .exact("a")))
            #expect(RouteShadowChecker.hostCovers(.any, .suffix(".a")))
            #expect(!RouteShadowChecker.hostCovers(.exact("a"), .any))
            #expect(RouteShadowChecker.hostCovers(.exact("a.b"), .exact("a.b")))
            #expect(!RouteShadowChecker.hostCovers(.exact("a.b"), .exact("c.b")))
            #expect(RouteShadowChecker.hostCovers(.suffix(".example.com"), .exact("x.example.com")))
            #expect(!RouteShadowChecker.hostCovers(.suffix(".example.com"), .exact("example.com")))
            #expect(!RouteShadowChecker.hostCovers(.suffix(".example.com"), .exact("xexample.com")))
            #expect(RouteShadowChecker.hostCovers(.suffix(".example.com"), .suffix(".a.example.com")))
            #expect(!RouteShadowChecker.hostCovers(.suffix(".a.example.com"), .suffix(".example.com")))
            #expect(!RouteShadowChecker.hostCovers(.exact("x.example.com"), .suffix(".example.com")))
        }

        @Test func pathCoverageIsSegmentAware() {
            #expect(RouteShadowChecker.pathCovers("/", "/anything"))
            #expect(RouteShadowChecker.pathCovers("/api", "/api"))
            #expect(RouteShadowChecker.pathCovers("/api", "/api/v1"))
            #expect(!RouteShadowChecker.pathCovers("/api", "/apiv1"))
            #expect(!RouteShadowChecker.pathCovers("/api/v1", "/api"))
        }

        @Test func methodCoverage() {
            #expect(RouteShadowChecker.methodsCover(nil, ["GET"]))
            #expect(RouteShadowChecker.methodsCover(nil, nil))
            #expect(!RouteShadowChecker.methodsCover(["GET"], nil))
            #expect(RouteShadowChecker.methodsCover(["GET", "HEAD"], ["HEAD"]))
            #expect(!RouteShadowChecker.methodsCover(["GET"], ["GET", "POST"]))
        }

        @Test func reportsFirstShadowingRoute() {
            let routes = [
                route("a", path: "/api", methods: ["GET"]),
                route("b", path: "/api"),
                route("c", host: .exact("x"), path: "/api/v1", methods: ["GET"]),
                route("d", host: .exact("x"), path: "/api/v1"),
                route("e", path: "/other"),
            ]
            let warnings = RouteShadowChecker.warnings(for: routes).map(\.description)
            #expect(warnings == [
                "route \"c\" (route[2]): never matches: shadowed by route[0] (\"a\")",
                "route \"d\" (route[3]): never matches: shadowed by route[1] (\"b\")",
            ])
        }

        /// The bucketed search reports exactly what comparing every pair reports (the definition:
        /// the first earlier route that `shadows` a route), on random route lists whose hosts,
        /// prefixes and methods overlap often.
        @Test func bucketedSearchAgreesWithEveryPair() {
            var rng = RouteIndexTests.SeededRandom(state: 7)
            let hosts: [HostMatch] = [.any, .exact("a.com"), .exact("x.a.com"), .exact("x.b.a.com"), .suffix(".a.com"),
                                      .suffix(".com"), .suffix(".b.a.com"), .suffix(".x.a.com")]
            let paths = ["/", "/a", "/a/b", "/a/b/c", "/ab", "/a/bc", "//a", "/b"]
            let methods: [[String]?] = [nil, ["GET"], ["GET", "HEAD"], ["POST"], ["HEAD", "GET"], ["PUT", "POST", "GET"]]
            var compared = 0
            for _ in 0..<300 {
                let routes = (0..<Int.random(in: 0...30, using: &rng)).map { i in
                    route("r\(i)", host: hosts.randomElement(using: &rng)!, path: paths.randomElement(using: &rng)!,
                          methods: methods.randomElement(using: &rng)!)
                }
                var expected: [String] = []
                for (i, later) in routes.enumerated() {
                    if let e = routes[..<i].firstIndex(where: { RouteShadowChecker.shadows($0, later) }) {
                        expected.append("\(RouteKeyPath.of(index: i, route: later)): never matches: shadowed by route[\(e)] (\"\(routes[e].name)\")")
                    }
                }
                let got = RouteShadowChecker.warnings(for: routes).map(\.description)
                #expect(got == expected)
                compared += expected.count
            }
            #expect(compared > 1000)
        }

        /// 10,000 routes: the old all-pairs search took seconds; this one is linear.
        @Test func tenThousandRoutesAreCheckedQuickly() {
            let routes = (0..<10_000).map { route("r\($0)", path: "/r\($0)") } + [route("last", path: "/r5/x")]
            let clock = ContinuousClock()
            var warnings: [ConfigProblem] = []
            let took = clock.measure { warnings = RouteShadowChecker.warnings(for: routes) }
            #expect(warnings.map(\.description) == ["route \"last\" (route[10000]): never matches: shadowed by route[5] (\"r5\")"])
            // A debug build on a loaded 2-core machine: generous; all pairs took far longer.
            #expect(took < .seconds(5))
        }
    }
}
