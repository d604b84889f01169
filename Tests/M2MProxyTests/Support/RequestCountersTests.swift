import Testing
@testable import M2MProxy

/// `RequestCounters` (the loop's counters) must count exactly as `RequestMetrics.record`, which
/// scrapes read: its snapshot is compared with a `RequestMetrics` fed the same requests.
@Suite struct RequestCountersTests {
    @Test func snapshotMatchesRequestMetrics() {
        let names = ["shop", "admin"]
        let counters = RequestCounters(routeNames: names)
        var metrics = RequestMetrics(routeNames: names)
        // More codes than the initial column room (4), every row, both protocols, bucket edges.
        let samples: [(Int?, Int, Double, UpstreamErrorKind?, RequestProtocol)] = [
            (0, 200, 0.001, nil, .http1), (0, 200, 0.0011, nil, .h2), (1, 404, 0.0025, nil, .http1),
            (nil, 404, 0.0001, nil, .http1), (0, 502, 0.3, .connectRefused, .http1), (1, 503, 31, nil, .h2),
            (0, 499, 30, .closed, .h2), (7, 200, 1, nil, .http1), (-1, 1200, 0, nil, .http1),
            (0, -5, 0.05, .tls, .http1), (1, 201, 2.5, nil, .h2), (0, 200, 10, .reset, .http1),
        ]
        for (route, status, seconds, error, p) in samples {
            counters.record(routeIndex: route, status: status, seconds: seconds, upstreamError: error, protocol: p)
            metrics.record(routeIndex: route, status: status, seconds: seconds, upstreamError: error, protocol: p)
        }
        let s = counters.snapshot
        #expect(s.routeNames == metrics.routeNames)
        #expect(s.codes == metrics.codes)
        #expect(s.requests == metrics.requests)
        #expect(s.total == metrics.total)
        #expect(s.upstreamErrors == metrics.upstreamErrors)
        #expect(s.durations.count == metrics.durations.count)
        for (a, b) in zip(s.durations, metrics.durations) {
            #expect(a.counts == b.counts)
            #expect(a.sum == b.sum)
            #expect(a.count == b.count)
            #expect(a.bounds == b.bounds)
        }
        // A code seen after the snapshot gets the next column in both.
        counters.record(routeIndex: 0, status: 418, seconds: 0.01, upstreamError: nil, protocol: .http1)
        metrics.record(routeIndex: 0, status: 418, seconds: 0.01, upstreamError: nil, protocol: .http1)
        #expect(counters.snapshot.requests == metrics.requests)
    }
}
