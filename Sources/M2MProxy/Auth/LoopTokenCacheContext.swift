/// The token cache's context on a libuv loop (the control loop, which is worker 0's): libuv
/// timers and `TokenFetch` connections sharing that loop's resolver, TLS state and buffers.
final class LoopTokenCacheContext: TokenCacheContext {
    let io: LoopIO
    let log: Log

    init(io: LoopIO, log: Log) {
        self.io = io
        self.log = log
    }

    var now: UInt64 { io.now }

    func makeTimer() -> any TokenTimer { LoopTimer(loop: io.loop) }

    func makeFetch(_ entry: TokenEntry, cache: TokenCache) -> any TokenFetching {
        TokenFetch(io: io, entry: entry, cache: cache)
    }
}

@available(*, unavailable)
extension LoopTokenCacheContext: Sendable {}
