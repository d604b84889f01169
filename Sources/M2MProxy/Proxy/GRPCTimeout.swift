/// gRPC's `grpc-timeout` request field (grpc/doc/PROTOCOL-HTTP2.md): `TimeoutValue TimeoutUnit`,
/// a positive integer of at most 8 ASCII digits and one of `H` `M` `S` `m` `u` `n`. The proxy
/// honours it as the response deadline when it is shorter than the route's (DESIGN.md §7).
enum GRPCTimeout {
    /// The timeout in whole milliseconds, rounded up (at least 1: a deadline of 0 has already
    /// passed); nil when the value is malformed (then it is ignored here, and forwarded as is).
    static func milliseconds(_ value: UnsafeRawBufferPointer) -> Int? {
        guard value.count >= 2, value.count <= 9 else { return nil }
        var n = 0
        for i in 0..<(value.count - 1) {
            let c = value[i]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            n = n * 10 + Int(c - UInt8(ascii: "0"))
        }
        let ms: Int
        switch value[value.count - 1] {
        case UInt8(ascii: "H"): ms = n * 3_600_000
        case UInt8(ascii: "M"): ms = n * 60_000
        case UInt8(ascii: "S"): ms = n * 1000
        case UInt8(ascii: "m"): ms = n
        case UInt8(ascii: "u"): ms = (n + 999) / 1000
        case UInt8(ascii: "n"): ms = (n + 999_999) / 1_000_000
        default: return nil
        }
        return max(ms, 1)
    }
}
