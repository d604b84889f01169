import Testing
@testable import M2MProxy

@Suite struct UpstreamsReportTests {
    private func stats(_ route: String, _ ep: String, ejectedForMs: Int = 0, open: Int = 0, requests: UInt64 = 0, ejections: UInt64 = 0) -> EndpointStats {
        EndpointStats(route: route, endpoint: ep, resolved: true, ejectedForMs: ejectedForMs, open: open, idle: 0,
                      inFlight: 0, requests: requests, failures: 0, ejections: ejections)
    }

    @Test func loopsAreSummedPerRouteAndEndpoint() {
        let merged = UpstreamsReport.merge([
            [stats("api", "10.0.0.1:80", open: 1, requests: 5), stats("api", "10.0.0.2:80", requests: 1)],
            [stats("api", "10.0.0.1:80", ejectedForMs: 300, open: 2, requests: 7, ejections: 1)],
        ])
        #expect(merged.count == 2)
        #expect(merged[0] == stats("api", "10.0.0.1:80", ejectedForMs: 300, open: 3, requests: 12, ejections: 1))
        #expect(merged[1].endpoint == "10.0.0.2:80")
    }

    @Test func jsonNamesStateAndDeadline() {
        let route = RouteConfig(
            name: "api", host: .any, pathPrefix: "/", methods: nil,
            upstream: EndpointURL(scheme: .http, host: "api", port: 80, path: "", authority: "api"),
            credentialIndex: nil, resource: nil, scopes: [], organizationID: nil, preserveHost: false, tlsCAFile: nil,
            balance: .leastRequest)
        let json = UpstreamsReport.json([stats("api", "10.0.0.1:80", ejectedForMs: 1500), stats("api", "10.0.0.2:80")],
                                        routes: [route], nowUnixMs: 1_800_000_000_000)
        let eps = json.arrayValue?.first?["endpoints"]?.arrayValue ?? []
        #expect(json.arrayValue?.first?["balance"] == .string("least_request"))
        #expect(eps.count == 2)
        #expect(eps[0]["state"] == .string("ejected"))
        #expect(eps[0]["ejected_until"] == .string("2027-01-15T08:00:01.500Z"))
        #expect(eps[1]["state"] == .string("healthy"))
        #expect(eps[1]["ejected_until"] == .null)
    }

    @Test func prometheusHasTheEndpointFamilies() {
        var s = MetricsSnapshot()
        s.endpoints = [stats("api", "[::1]:80", ejectedForMs: 5, requests: 3, ejections: 2), stats("api", "10.0.0.2:80", requests: 4)]
        let text = PrometheusText.render(s)
        #expect(text.contains("m2m_upstream_endpoint_up{route=\"api\",endpoint=\"[::1]:80\"} 0\n"))
        #expect(text.contains("m2m_upstream_endpoint_up{route=\"api\",endpoint=\"10.0.0.2:80\"} 1\n"))
        #expect(text.contains("m2m_upstream_endpoint_requests_total{route=\"api\",endpoint=\"10.0.0.2:80\"} 4\n"))
        #expect(text.contains("m2m_upstream_ejections_total{route=\"api\",endpoint=\"[::1]:80\"} 2\n"))
        #expect(text.contains("# TYPE m2m_upstream_endpoint_up gauge"))
    }
}
