/// A Prometheus-style histogram with fixed upper bounds (seconds): plain counters, updated on
/// the loop that owns it and summed across loops at scrape time, never locked per request.
struct Histogram: Sendable {
    /// Latency buckets from 1 ms to 30 s, like Prometheus client defaults widened for proxies.
    static let defaultBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    let bounds: [Double]
    /// Non-cumulative count per bucket; the last slot is +Inf.
    private(set) var counts: [UInt64]
    private(set) var sum: Double = 0
    private(set) var count: UInt64 = 0

    init(bounds: [Double] = Histogram.defaultBounds) {
        self.bounds = bounds
        counts = [UInt64](repeating: 0, count: bounds.count + 1)
    }

    /// A histogram with these counts (`RequestCounters.snapshot`).
    init(bounds: [Double], counts: [UInt64], sum: Double, count: UInt64) {
        self.bounds = bounds
        self.counts = counts
        self.sum = sum
        self.count = count
    }

    mutating func observe(_ value: Double) {
        var i = 0
        while i < bounds.count && value > bounds[i] { i += 1 }
        counts[i] &+= 1
        sum += value
        count &+= 1
    }

    /// Adds another histogram with the same bounds (aggregation across workers).
    mutating func merge(_ other: Histogram) {
        for i in 0..<counts.count { counts[i] &+= other.counts[i] }
        sum += other.sum
        count &+= other.count
    }

    /// Cumulative counts per bound, then +Inf: what the Prometheus text format wants.
    var cumulative: [UInt64] {
        var total: UInt64 = 0
        return counts.map { total &+= $0; return total }
    }
}
