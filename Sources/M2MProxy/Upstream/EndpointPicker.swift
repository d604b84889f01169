/// Chooses the endpoint of the next request of one route's cluster on one loop: no lock, no
/// allocation. `round_robin` takes the endpoints in turn; `least_request` is the power of two
/// choices (Mitzenmacher; Envoy's default load balancer): two endpoints drawn at random, the one
/// with fewer requests in flight wins, which avoids herding onto one "least loaded" endpoint
/// that every loop sees at once.
///
/// Ejected endpoints are skipped while any other is eligible; when every one is ejected they
/// are all tried again (DESIGN.md §4: ejection alone never makes a 502). `avoid` is the endpoint
/// a failed attempt used: a retry takes another one when there is another.
struct EndpointPicker {
    private var cursor = 0
    /// xorshift64 state; any non-zero seed.
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func pick(
        count: Int, policy: BalancePolicy, avoid: Int?,
        ejected: (Int) -> Bool, load: (Int) -> Int
    ) -> Int {
        if count <= 1 { return 0 }
        if policy == .leastRequest {
            let a = Int(truncatingIfNeeded: random() % UInt64(count))
            var b = Int(truncatingIfNeeded: random() % UInt64(count - 1))
            if b >= a { b += 1 }
            let okA = a != avoid && !ejected(a)
            let okB = b != avoid && !ejected(b)
            if okA && okB { return load(b) < load(a) ? b : a }
            if okA { return a }
            if okB { return b }
        }
        // In turn: the next eligible one; else (all ejected) the next one that is not `avoid`.
        for pass in 0..<2 {
            for step in 0..<count {
                let i = (cursor + step) % count
                if i == avoid || (pass == 0 && ejected(i)) { continue }
                // A failover pick leaves the turn alone: the next request still goes where it
                // would have, so a dead endpoint does not shift the others' shares.
                if avoid == nil { cursor = i + 1 == count ? 0 : i + 1 }
                return i
            }
        }
        return avoid ?? 0
    }

    private mutating func random() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
