private import Glibc

/// Wall-clock time for values shared between processes (a stored token's expiry): loop time
/// (`uv_now`) is per host and since boot, so replicas could not compare it.
enum WallClock {
    static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
