/// The loop's request counters as the logging phase bumps them (DESIGN.md §6): the same
/// counts as `RequestMetrics`, kept in flat memory this loop owns, so that a request's
/// `record` is a few loads and adds. `RequestMetrics` keeps them in copy-on-write arrays
/// (and a histogram per row), where every update checked each array's uniqueness on the way
/// (callgrind: ~170 instructions per request for the metrics). A scrape copies them out
/// (`snapshot`), on the loop, as it copied the `RequestMetrics` value before.
///
/// Layout as `RequestMetrics`: rows are route indexes plus a last row "none"; status codes map
/// to columns through a 1000-entry table, a column added the first time a code is seen.
final class RequestCounters {
    let routeNames: [String]
    private let rows: Int
    /// Status code → column, -1 when not seen yet.
    private let codeColumn: UnsafeMutablePointer<Int16>
    /// The status code of each column, in order of first appearance.
    private var codes: [Int] = []
    /// `requests[(column * rows + row) * protocols + protocol]`, room for `columnCapacity`
    /// columns (grown by doubling when a new code needs one).
    private var requests: UnsafeMutablePointer<UInt64>
    private var columnCapacity: Int
    /// Duration histogram per row: `buckets[row * bucketCount + bucket]` (the last bucket of a
    /// row is +Inf) and the sum of the row's observations in seconds.
    private let buckets: UnsafeMutablePointer<UInt64>
    private let sums: UnsafeMutablePointer<Double>
    /// `upstreamErrors[row * kinds + kind.rawValue]`.
    private let upstreamErrors: UnsafeMutablePointer<UInt64>

    private static let protocols = RequestProtocol.allCases.count
    private static let kinds = UpstreamErrorKind.allCases.count
    private static let bounds = Histogram.defaultBounds
    /// `Histogram.defaultBounds`, readable without an Array (no bounds checks per request).
    private let boundTable: UnsafeMutablePointer<Double>
    private let boundCount: Int
    private var bucketCount: Int { boundCount + 1 }

    init(routeNames: [String]) {
        self.routeNames = routeNames
        rows = routeNames.count + 1
        codeColumn = .allocate(capacity: 1000)
        codeColumn.initialize(repeating: -1, count: 1000)
        columnCapacity = 4
        requests = .allocate(capacity: columnCapacity * rows * Self.protocols)
        requests.initialize(repeating: 0, count: columnCapacity * rows * Self.protocols)
        boundCount = Self.bounds.count
        boundTable = .allocate(capacity: boundCount)
        boundTable.initialize(from: Self.bounds, count: boundCount)
        buckets = .allocate(capacity: rows * (boundCount + 1))
        buckets.initialize(repeating: 0, count: rows * (boundCount + 1))
        sums = .allocate(capacity: rows)
        sums.initialize(repeating: 0, count: rows)
        upstreamErrors = .allocate(capacity: rows * Self.kinds)
        upstreamErrors.initialize(repeating: 0, count: rows * Self.kinds)
    }

    deinit {
        codeColumn.deallocate()
        requests.deallocate()
        boundTable.deallocate()
        buckets.deallocate()
        sums.deallocate()
        upstreamErrors.deallocate()
    }

    /// Counts one request, as `RequestMetrics.record` does.
    @inline(__always)
    func record(routeIndex: Int?, status: Int, seconds: Double, upstreamError: UpstreamErrorKind?, protocol p: RequestProtocol) {
        let last = rows &- 1
        var r = last
        if let i = routeIndex, i >= 0, i < last { r = i }
        let code = min(max(status, 0), 999)
        var column = Int(codeColumn[code])
        if column < 0 { column = addColumn(code) }
        requests[(column &* rows &+ r) &* Self.protocols &+ p.rawValue] &+= 1
        // Bucket: the first bound the value does not exceed (`Histogram.observe`).
        var b = 0
        while b < boundCount && seconds > boundTable[b] { b &+= 1 }
        buckets[r &* bucketCount &+ b] &+= 1
        sums[r] += seconds
        if let kind = upstreamError { upstreamErrors[r &* Self.kinds &+ kind.rawValue] &+= 1 }
    }

    /// A status code seen for the first time gets a column (a handful per process).
    @inline(never)
    private func addColumn(_ code: Int) -> Int {
        let column = codes.count
        if column == columnCapacity {
            let per = rows * Self.protocols
            let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * columnCapacity * per)
            grown.moveInitialize(from: requests, count: columnCapacity * per)
            (grown + columnCapacity * per).initialize(repeating: 0, count: columnCapacity * per)
            requests.deallocate()
            requests = grown
            columnCapacity *= 2
        }
        codeColumn[code] = Int16(column)
        codes.append(code)
        return column
    }

    /// The counters as a `RequestMetrics` value, for a scrape.
    var snapshot: RequestMetrics {
        let per = rows * Self.protocols
        let requestCounts = Array(UnsafeBufferPointer(start: requests, count: codes.count * per))
        var durations: [Histogram] = []
        durations.reserveCapacity(rows)
        for r in 0..<rows {
            let counts = Array(UnsafeBufferPointer(start: buckets + r * bucketCount, count: bucketCount))
            durations.append(Histogram(bounds: Self.bounds, counts: counts, sum: sums[r], count: counts.reduce(0, &+)))
        }
        return RequestMetrics(
            routeNames: routeNames, codes: codes, requests: requestCounts, durations: durations,
            upstreamErrors: Array(UnsafeBufferPointer(start: upstreamErrors, count: rows * Self.kinds)))
    }
}

@available(*, unavailable)
extension RequestCounters: Sendable {}
