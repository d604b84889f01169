/// What the token cache needs from the loop it runs on: a clock, timers, a way to start a fetch
/// (resolver, TLS and sockets are the fetch's business), and a log. The cache names no worker
/// or connection (STYLE.md §1); `LoopTokenCacheContext` is the libuv one, and unit tests drive
/// refresh, backoff, Retry-After and expiry with a manual clock instead of the wall clock.
protocol TokenCacheContext: AnyObject {
    /// Loop time in milliseconds (`uv_now` in production).
    var now: UInt64 { get }
    var log: Log { get }
    func makeTimer() -> any TokenTimer
    /// A fetch of `entry`'s token, not started yet: the cache records it as in flight before
    /// `start`, since a fetch may finish (`TokenCache.fetchFinished`) inside `start`.
    func makeFetch(_ entry: TokenEntry, cache: TokenCache) -> any TokenFetching
}

/// A one-shot timer of the token cache's loop (`LoopTimer`).
protocol TokenTimer: AnyObject {
    /// (Re)arms the timer to call `action` once after `ms` milliseconds.
    func schedule(afterMs ms: UInt64, _ action: @escaping () -> Void)
    func cancel()
}

/// One token request in flight (`TokenFetch`): it calls `TokenCache.fetchFinished` exactly once.
protocol TokenFetching: AnyObject {
    func start()
    func cancel()
}

extension LoopTimer: TokenTimer {}
extension TokenFetch: TokenFetching {}
