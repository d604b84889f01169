import Testing
@testable import M2MProxy

@Suite struct PrometheusTextTests {
    private func snapshot() -> MetricsSnapshot {
        var m = RequestMetrics(routeNames: ["shop", "we\"ird\\na\nme"])
        m.record(routeIndex: 0, status: 200, seconds: 0.002, upstreamError: nil)
        m.record(routeIndex: 0, status: 200, seconds: 0.2, upstreamError: nil)
        m.record(routeIndex: 0, status: 502, seconds: 0.001, upstreamError: .connectRefused)
        m.record(routeIndex: 1, status: 499, seconds: 3, upstreamError: nil)
        m.record(routeIndex: nil, status: 404, seconds: 0.0001, upstreamError: nil)
        // A second loop's counters are summed in.
        var m2 = RequestMetrics(routeNames: ["shop", "we\"ird\\na\nme"])
        m2.record(routeIndex: 0, status: 200, seconds: 0.004, upstreamError: nil)
        var fetch = Histogram()
        fetch.observe(0.05)
        let token = TokenSnapshot(
            credential: "logto", resource: "https://api", scopes: ["read"], organizationID: nil, secondsLeft: 100,
            expiresInSeconds: 120, fetching: false, lastOutcome: "ok", lastError: nil, outcomes: ["ok": 2, "refused": 1],
            fetchDurations: fetch, routes: ["shop"], prefetch: true)
        let token2 = TokenSnapshot(
            credential: "logto", resource: "https://api", scopes: ["write"], organizationID: nil, secondsLeft: 30,
            expiresInSeconds: 50, fetching: false, lastOutcome: "ok", lastError: nil, outcomes: ["ok": 1],
            fetchDurations: fetch, routes: ["other"], prefetch: false)
        var s = MetricsSnapshot(metrics: [m, m2], tokens: [token, token2], tokenCacheWaits: 7, openConnections: 3, activeRequests: 1)
        s.bufferPoolBytes = 4096
        return s
    }

    @Test func everyFamilyHasHelpAndType() {
        let text = PrometheusText.render(MetricsSnapshot())
        for family in PrometheusText.Family.allCases {
            #expect(text.contains("# HELP \(family.name) "))
            #expect(text.contains("# TYPE \(family.name) \(family.type)\n"))
        }
        #expect(text.hasSuffix("\n"))
    }

    /// HTTP/2 streams and HTTP/1.1 requests of the same route and code are separate series
    /// (DESIGN.md §7: the metrics carry a protocol label), each summed across loops.
    @Test func requestsAreCountedPerProtocol() {
        var m = RequestMetrics(routeNames: ["grpc"])
        m.record(routeIndex: 0, status: 200, seconds: 0.001, upstreamError: nil, protocol: .h2)
        m.record(routeIndex: 0, status: 200, seconds: 0.001, upstreamError: nil, protocol: .http1)
        var m2 = RequestMetrics(routeNames: ["grpc"])
        m2.record(routeIndex: 0, status: 200, seconds: 0.001, upstreamError: nil, protocol: .h2)
        m2.record(routeIndex: 0, status: 404, seconds: 0.001, upstreamError: nil, protocol: .h2)
        let s = MetricsSnapshot(metrics: [m, m2], tokens: [], tokenCacheWaits: 0, openConnections: 0, activeRequests: 0)
        let lines = PrometheusText.render(s).split(separator: "\n").filter { $0.hasPrefix("m2m_requests_total{") }
        #expect(lines == [
            #"m2m_requests_total{route="grpc",code="200",protocol="http/1.1"} 1"#,
            #"m2m_requests_total{route="grpc",code="200",protocol="h2"} 2"#,
            #"m2m_requests_total{route="grpc",code="404",protocol="h2"} 1"#,
        ])
        #expect(m.total + m2.total == 4)
    }

    @Test func countersAreSummedAcrossLoops() {
        let lines = PrometheusText.render(snapshot()).split(separator: "\n").map(String.init)
        #expect(lines.contains(#"m2m_requests_total{route="shop",code="200",protocol="http/1.1"} 3"#))
        #expect(lines.contains(#"m2m_requests_total{route="shop",code="502",protocol="http/1.1"} 1"#))
        #expect(lines.contains(#"m2m_requests_total{route="none",code="404",protocol="http/1.1"} 1"#))
        #expect(lines.contains(#"m2m_upstream_errors_total{route="shop",kind="connect_refused"} 1"#))
        #expect(lines.contains("m2m_token_cache_waits_total 7"))
        #expect(lines.contains("m2m_open_connections 3"))
        #expect(lines.contains("m2m_active_requests 1"))
        #expect(lines.contains("m2m_buffer_pool_bytes 4096"))
    }

    @Test func upstreamTLSHandshakesAreSummedPerUpstream() {
        // Two loops' pools of one upstream (and a pool with other TLS settings) share a series.
        var s = MetricsSnapshot()
        s.addTLSHandshakes(.init(upstream: "api.test:443", full: 1, resumed: 5))
        s.addTLSHandshakes(.init(upstream: "[::1]:8443", full: 2, resumed: 0))
        s.addTLSHandshakes(.init(upstream: "api.test:443", full: 1, resumed: 7))
        let lines = PrometheusText.render(s).split(separator: "\n").map(String.init)
        #expect(lines.contains(#"m2m_upstream_tls_handshakes_total{upstream="api.test:443",resumed="false"} 2"#))
        #expect(lines.contains(#"m2m_upstream_tls_handshakes_total{upstream="api.test:443",resumed="true"} 12"#))
        #expect(lines.contains(#"m2m_upstream_tls_handshakes_total{upstream="[::1]:8443",resumed="false"} 2"#))
        #expect(lines.contains(#"m2m_upstream_tls_handshakes_total{upstream="[::1]:8443",resumed="true"} 0"#))
        #expect(lines.filter { $0.hasPrefix("m2m_upstream_tls_handshakes_total{") }.count == 4)
    }

    @Test func labelValuesAreEscaped() {
        let text = PrometheusText.render(snapshot())
        #expect(text.contains(#"m2m_requests_total{route="we\"ird\\na\nme",code="499",protocol="http/1.1"} 1"#))
        #expect(PrometheusText.escapeLabel("a\\b\"c\nd") == #"a\\b\"c\nd"#)
    }

    @Test func histogramsAreCumulativeWithInfSumAndCount() {
        let lines = PrometheusText.render(snapshot()).split(separator: "\n").map(String.init)
        let shop = #"route="shop""#
        #expect(lines.contains("m2m_request_duration_seconds_bucket{\(shop),le=\"0.001\"} 1"))
        #expect(lines.contains("m2m_request_duration_seconds_bucket{\(shop),le=\"0.0025\"} 2"))
        #expect(lines.contains("m2m_request_duration_seconds_bucket{\(shop),le=\"0.005\"} 3"))
        #expect(lines.contains("m2m_request_duration_seconds_bucket{\(shop),le=\"0.25\"} 4"))
        #expect(lines.contains("m2m_request_duration_seconds_bucket{\(shop),le=\"1\"} 4"))
        #expect(lines.contains("m2m_request_duration_seconds_bucket{\(shop),le=\"+Inf\"} 4"))
        #expect(lines.contains("m2m_request_duration_seconds_count{\(shop)} 4"))
        #expect(lines.contains { $0.hasPrefix("m2m_request_duration_seconds_sum{\(shop)} 0.207") })
    }

    @Test func tokenKeysWithEqualLabelsShareOneSeries() {
        let lines = PrometheusText.render(snapshot()).split(separator: "\n").map(String.init)
        let labels = #"credential="logto",resource="https://api""#
        #expect(lines.contains("m2m_token_requests_total{\(labels),outcome=\"ok\"} 3"))
        #expect(lines.contains("m2m_token_requests_total{\(labels),outcome=\"refused\"} 1"))
        #expect(lines.contains("m2m_token_expiry_seconds{\(labels)} 50"))
        #expect(lines.contains("m2m_token_fetch_duration_seconds_count{\(labels)} 2"))
        #expect(lines.filter { $0.hasPrefix("m2m_token_expiry_seconds{") }.count == 1)
    }

    @Test func numbersFormat() {
        #expect(PrometheusText.formatNumber(1) == "1")
        #expect(PrometheusText.formatNumber(0.0025) == "0.0025")
        #expect(PrometheusText.formatNumber(.infinity) == "+Inf")
    }
}
