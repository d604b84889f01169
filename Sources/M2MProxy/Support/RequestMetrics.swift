/// One loop's request counters (DESIGN.md §6), updated by the logging phase with plain integer
/// arithmetic: no lock, no hashing, no allocation per request in steady state. Scrapes read
/// copy every loop's counters (a value: copy-on-write arrays, so a scrape costs the loop one
/// copy of its arrays at its next request, not a lock per request) and sum them
/// (`MetricsSnapshot`).
///
/// Rows are route indexes, plus one last row for requests that matched no route ("none").
/// Status codes map to columns through a 1000-entry table; a column is added the first time a
/// code is seen (a handful per process), so the counters stay small and dense. Each cell counts
/// per `RequestProtocol` (the `protocol` label).
struct RequestMetrics: Sendable {
    let routeNames: [String]
    var rows: Int { routeNames.count + 1 }
    private var codeColumn = [Int16](repeating: -1, count: 1000)
    /// The status code of each column, in order of first appearance.
    private(set) var codes: [Int] = []
    /// Column-major, protocols innermost: `requests[(column * rows + row) * protocols + protocol]`.
    private(set) var requests: [UInt64] = []
    private(set) var durations: [Histogram]
    /// `upstreamErrors[row * kinds + kind.rawValue]`.
    private(set) var upstreamErrors: [UInt64]

    init(routeNames: [String]) {
        self.routeNames = routeNames
        durations = Array(repeating: Histogram(), count: routeNames.count + 1)
        upstreamErrors = Array(repeating: 0, count: (routeNames.count + 1) * UpstreamErrorKind.allCases.count)
    }

    /// Counters as the loop kept them (`RequestCounters.snapshot`).
    init(routeNames: [String], codes: [Int], requests: [UInt64], durations: [Histogram], upstreamErrors: [UInt64]) {
        self.routeNames = routeNames
        self.codes = codes
        for (column, code) in codes.enumerated() { codeColumn[code] = Int16(column) }
        self.requests = requests
        self.durations = durations
        self.upstreamErrors = upstreamErrors
    }

    /// The row of a route index; nil (no route) is the last row.
    func row(_ routeIndex: Int?) -> Int {
        guard let i = routeIndex, i >= 0, i < routeNames.count else { return routeNames.count }
        return i
    }

    /// Name of a row: the route's name, or "none".
    func rowName(_ row: Int) -> String { row < routeNames.count ? routeNames[row] : "none" }

    static let protocols = RequestProtocol.allCases.count

    mutating func record(
        routeIndex: Int?, status: Int, seconds: Double, upstreamError: UpstreamErrorKind?, protocol p: RequestProtocol = .http1
    ) {
        let r = row(routeIndex)
        let code = min(max(status, 0), 999)
        var column = Int(codeColumn[code])
        if column < 0 {
            column = codes.count
            codeColumn[code] = Int16(column)
            codes.append(code)
            requests.append(contentsOf: repeatElement(0, count: rows * Self.protocols))
        }
        requests[(column * rows + r) * Self.protocols + p.rawValue] &+= 1
        durations[r].observe(seconds)
        if let kind = upstreamError {
            upstreamErrors[r * UpstreamErrorKind.allCases.count + kind.rawValue] &+= 1
        }
    }

    func requestCount(row: Int, column: Int, protocol p: RequestProtocol) -> UInt64 {
        requests[(column * rows + row) * Self.protocols + p.rawValue]
    }

    /// Every request counted, whatever its route and code.
    var total: UInt64 { requests.reduce(0, &+) }

    func upstreamErrorCount(row: Int, kind: UpstreamErrorKind) -> UInt64 {
        upstreamErrors[row * UpstreamErrorKind.allCases.count + kind.rawValue]
    }
}
