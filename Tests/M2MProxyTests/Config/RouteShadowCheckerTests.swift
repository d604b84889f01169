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
    }
}
