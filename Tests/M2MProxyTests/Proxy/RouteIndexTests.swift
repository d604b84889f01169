import Testing
@testable import M2MProxy

/// The index must answer exactly what the linear scan (`Router.linearMatchRef`, the definition of
/// first-match-in-file-order) answers: random route sets over a small alphabet, so that hosts,
/// suffixes, prefixes and methods overlap often, against random requests, including odd ones
/// (upper case, trailing dots, "//", "?", methods outside the mask).
@Suite struct RouteIndexTests {
    /// SplitMix64: a fixed seed makes a failure reproducible.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let hostNames = ["a.com", "b.a.com", "x.b.a.com", "com", "a.org", "[::1]", "xa.com", ""]
    static let suffixes = [".a.com", ".com", ".b.a.com", ".org", "a.com", "m", ""]
    static let segments = ["a", "b", "ab", "api", "v1", "", "A"]
    static let methodNames = ["GET", "HEAD", "POST", "PUT", "DELETE"]

    static func randomPrefix(_ rng: inout SeededRandom) -> String {
        let n = Int.random(in: 0...3, using: &rng)
        if n == 0 { return "/" }
        return (0..<n).map { _ in "/" + segments.randomElement(using: &rng)! }.joined()
    }

    static func randomRoute(_ i: Int, _ rng: inout SeededRandom) -> CompiledRoute {
        let host: HostMatch
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: host = .any
        case 1: host = .exact(hostNames.randomElement(using: &rng)!)
        default: host = .suffix(suffixes.randomElement(using: &rng)!)
        }
        var methods: [String]? = nil
        if Bool.random(using: &rng) {
            methods = methodNames.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
        }
        return RouterTests.route(i, host: host, prefix: randomPrefix(&rng), methods: methods)
    }

    static func randomRequest(_ rng: inout SeededRandom) -> (host: String, path: String, method: Int) {
        var host = hostNames.randomElement(using: &rng)!
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: host = host.uppercased()
        case 1: host = "q." + host
        case 2: host = "." + host
        default: break
        }
        var path = randomPrefix(&rng)
        switch Int.random(in: 0..<7, using: &rng) {
        case 0: path += "/"
        case 1: path += "X"
        case 2: path += "?q=1"
        case 3: path += "//b"
        case 4: path = String(path.dropFirst())
        default: break
        }
        let codes = methodNames.map { HTTPMethod.code(named: $0)! } + [-1, 63, 64, 200]
        return (host, path, codes.randomElement(using: &rng)!)
    }

    static func both(_ router: Router, host: String, path: String, method: Int) -> (index: Int?, linear: Int?) {
        var h = Array(host.utf8)
        var p = Array(path.utf8)
        return h.withUnsafeMutableBytes { hb in
            p.withUnsafeMutableBytes { pb in
                let hs = ByteSpan(base: hb.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, count: hb.count)
                let ps = ByteSpan(base: pb.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, count: pb.count)
                let a = router.matchRef(host: hs, path: ps, method: method)?.takeUnretainedValue().index
                let b = router.linearMatchRef(host: hs, path: ps, method: method)?.takeUnretainedValue().index
                return (a, b)
            }
        }
    }

    @Test func indexAgreesWithTheLinearScanOnRandomRoutesAndRequests() {
        var rng = SeededRandom(state: 17)
        var mismatches: [String] = []
        var hits = 0
        for _ in 0..<400 {
            let routes = (0..<Int.random(in: 0...24, using: &rng)).map { Self.randomRoute($0, &rng) }
            let router = Router(routes: routes, linearLimit: -1)
            for _ in 0..<150 {
                let q = Self.randomRequest(&rng)
                let (a, b) = Self.both(router, host: q.host, path: q.path, method: q.method)
                if b != nil { hits += 1 }
                if a != b && mismatches.count < 5 {
                    let table = routes.map { "\($0.config.host) \($0.config.pathPrefix) \($0.config.methods ?? [])" }
                    mismatches.append("\(q) index \(String(describing: a)) linear \(String(describing: b)) routes \(table)")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        // The generator must exercise matches, not only misses.
        #expect(hits > 10_000)
    }

    @Test func tablesAroundTheScanLimitMatchAlike() {
        // Either way the answer is the same; a route list over the limit goes through the index.
        for n in [1, Router.linearLimit, Router.linearLimit + 1, 40] {
            let routes = (0..<n).map { RouterTests.route($0, prefix: $0 == n - 1 ? "/api" : "/r\($0)") }
            let router = Router(routes: routes)
            let (a, b) = Self.both(router, host: "h", path: "/api/items", method: 1)
            #expect(a == n - 1)
            #expect(b == n - 1)
        }
    }

    @Test func thousandPrefixRoutesMatchTheLastOne() {
        let routes = (0..<1000).map { RouterTests.route($0, prefix: "/r\($0)") }
        let router = Router(routes: routes)
        for (path, want) in [("/r999/x", 999), ("/r0", 0), ("/r500?x", 500), ("/r1000", nil), ("/r99x", nil)] as [(String, Int?)] {
            let (a, b) = Self.both(router, host: "h", path: path, method: 1)
            #expect(a == want)
            #expect(b == want)
        }
    }

    @Test func earlierRouteWinsAcrossHostGroups() {
        // The any-host route comes first: it beats the exact and the wildcard one behind it.
        let router = Router(routes: [
            RouterTests.route(0, prefix: "/api"),
            RouterTests.route(1, host: .exact("a.com"), prefix: "/api/v1"),
            RouterTests.route(2, host: .suffix(".com")),
        ], linearLimit: -1)
        #expect(Self.both(router, host: "a.com", path: "/api/v1/x", method: 1).index == 0)
        #expect(Self.both(router, host: "a.com", path: "/other", method: 1).index == 2)
    }

    @Test func longHostWithManyDotsStaysCorrect() {
        let router = Router(routes: [RouterTests.route(0, host: .suffix(".z")), RouterTests.route(1, host: .suffix(".a.a"))], linearLimit: -1)
        let long = String(repeating: "a.", count: 2000) + "a"
        #expect(Self.both(router, host: long, path: "/", method: 1).index == 1)
        #expect(Self.both(router, host: long + ".z", path: "/", method: 1).index == 0)
    }
}
