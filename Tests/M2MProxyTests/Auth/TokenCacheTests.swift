import Testing
@testable import M2MProxy

/// DESIGN.md §5's schedule on a manual clock: the cache runs on a `TokenCacheContext` whose
/// timers and fetches the test fires and finishes by hand (no sockets, no wall clock).
@Suite struct TokenCacheTests {
    final class ManualTimer: TokenTimer {
        var afterMs: UInt64?
        var action: (() -> Void)?
        func schedule(afterMs ms: UInt64, _ action: @escaping () -> Void) {
            afterMs = ms
            self.action = action
        }
        func cancel() {
            afterMs = nil
            action = nil
        }
        func fire() {
            let a = action
            afterMs = nil
            action = nil
            a?()
        }
    }

    final class ManualFetch: TokenFetching {
        var started = false
        var cancelled = false
        func start() { started = true }
        func cancel() { cancelled = true }
    }

    final class ManualContext: TokenCacheContext {
        var now: UInt64 = 1_000_000
        let log = Log(level: .error)
        var timers: [ManualTimer] = []
        var fetches: [ManualFetch] = []
        func makeTimer() -> any TokenTimer {
            let t = ManualTimer()
            timers.append(t)
            return t
        }
        func makeFetch(_ entry: TokenEntry, cache: TokenCache) -> any TokenFetching {
            let f = ManualFetch()
            fetches.append(f)
            return f
        }
    }

    struct Wake: Equatable {
        let worker: Int
        let slot: Int
        let failure: TokenFailure?
    }

    let context = ManualContext()
    let cache: TokenCache
    var wakes: [Wake] { wakeLog.items }
    private let wakeLog = WakeLog()

    final class WakeLog {
        var items: [Wake] = []
    }

    init() throws {
        cache = TokenCache(context: context)
        let toml = ConfigTestSupport.credential + "[[route]]\nname = \"r\"\nupstream = \"http://api:8080\"\ncredential = \"logto\"\n"
        let config = try #require(ConfigTestSupport.parse(toml).config)
        #expect(cache.assignSlots(config) == [0])
        let log = wakeLog
        cache.wake = { w, slot, failure in log.items.append(Wake(worker: w, slot: slot, failure: failure)) }
    }

    private var entry: TokenEntry { cache.entries[0] }

    private func succeed(lifetime: Int) {
        let response = try! TokenResponse.parse(Array("{\"access_token\":\"tok\",\"token_type\":\"Bearer\",\"expires_in\":\(lifetime)}".utf8)).get()
        cache.fetchFinished(entry, .success(response, lifetimeSeconds: lifetime, startedAt: context.now), startedAt: context.now)
    }

    private func fail(_ failure: TokenFetchFailure) {
        cache.fetchFinished(entry, .failure(failure), startedAt: context.now)
    }

    @Test func oneFetchForAllWaitersAndEveryoneIsWoken() throws {
        cache.need(slot: 0, worker: 1)
        cache.need(slot: 0, worker: 2)
        cache.need(slot: 0, worker: 1)
        #expect(context.fetches.count == 1)
        #expect(context.fetches[0].started)
        succeed(lifetime: 3600)
        #expect(wakes == [Wake(worker: 1, slot: 0, failure: nil), Wake(worker: 2, slot: 0, failure: nil)])
        // The refresh timer: 10% of an hour before expiry, capped at 5 minutes.
        // A plain Bool: `#expect(a == b)` on these values trips a stack-buffer-overflow report
        // inside Swift 6.3.1's AnyHashable conversion under ASan (the runtime, not our code).
        let timer = try #require(context.timers.first)
        let refreshAfter = timer.afterMs == 3_600_000 - 300_000
        #expect(refreshAfter, "refresh timer after \(String(describing: timer.afterMs)) ms")
    }

    @Test func usedKeyIsRefreshedAtItsRefreshPoint() throws {
        cache.need(slot: 0, worker: 0)
        succeed(lifetime: 3600)
        let token = try #require(entry.current)
        entry.board.noteUse(seq: token.seq)
        context.now = token.refreshAt
        context.timers[0].fire()
        #expect(context.fetches.count == 2)
    }

    @Test func idleKeyIsNotRefreshedAndIsFetchedOnDemandOnceExpired() throws {
        cache.need(slot: 0, worker: 0)
        succeed(lifetime: 3600)
        let token = try #require(entry.current)
        context.now = token.refreshAt
        context.timers[0].fire()
        #expect(context.fetches.count == 1, "unused since its fetch: left to expire")
        cache.need(slot: 0, worker: 0)
        #expect(context.fetches.count == 1, "still sendable: no fetch")
        context.now = token.sendUntil
        cache.need(slot: 0, worker: 0)
        #expect(context.fetches.count == 2)
    }

    @Test func expiredTokenIsFetchedAgainOnDemand() throws {
        cache.need(slot: 0, worker: 0)
        succeed(lifetime: 60)
        let t = try #require(entry.current)
        // 60 s lifetime: sent until 5 s before expiry.
        #expect(t.sendUntil == context.now + 55_000)
        context.now = t.sendUntil - 1
        cache.need(slot: 0, worker: 0)
        #expect(context.fetches.count == 1)
        context.now = t.sendUntil
        cache.need(slot: 0, worker: 0)
        #expect(context.fetches.count == 2)
    }

    @Test func retryAfterIsObeyedAndWaitersFailAtOnceMeanwhile() {
        cache.need(slot: 0, worker: 3)
        fail(.rateLimited("token endpoint answered HTTP 429", retryAfterSeconds: 7))
        #expect(wakes == [Wake(worker: 3, slot: 0, failure: TokenFailure(message: "token endpoint answered HTTP 429", retryAfterSeconds: 7))])

        // Within Retry-After: answered at once with the time left, no request to the endpoint.
        context.now += 1_000
        cache.need(slot: 0, worker: 3)
        #expect(context.fetches.count == 1)
        #expect(wakes.last?.failure?.retryAfterSeconds == 6)

        context.now += 6_000
        cache.need(slot: 0, worker: 3)
        #expect(context.fetches.count == 2)
    }

    @Test func backoffGrowsButStaysWithinFiveSecondsWithoutAToken() {
        for n in 1...8 {
            cache.need(slot: 0, worker: 0)
            #expect(context.fetches.count == n)
            fail(.unreachable("token endpoint unreachable: connection refused"))
            let wait = entry.nextAttemptAt - context.now
            #expect(wait >= 100 && wait <= 5_000, "failure \(n): \(wait) ms")
            context.now = entry.nextAttemptAt
        }
    }

    @Test func failedRefreshWithAValidTokenRetriesInTheBackground() throws {
        cache.need(slot: 0, worker: 0)
        succeed(lifetime: 3600)
        let token = try #require(entry.current)
        context.now = token.refreshAt
        cache.refreshDue(slot: 0, seq: token.seq)
        #expect(context.fetches.count == 2)
        fail(.transient("token endpoint answered HTTP 500"))
        // Still held and sent; the timer is armed for the backoff point.
        #expect(entry.current === token)
        let timer = context.timers[0]
        let retryAfter = timer.afterMs == entry.nextAttemptAt - context.now  // a Bool: see above
        #expect(retryAfter, "retry timer after \(String(describing: timer.afterMs)) ms")
        entry.board.noteUse(seq: token.seq)
        context.now = entry.nextAttemptAt
        timer.fire()
        #expect(context.fetches.count == 3)
    }

    @Test func refusedCredentialWaitsThirtySeconds() {
        cache.need(slot: 0, worker: 0)
        fail(.refused("token endpoint refused the credential: invalid_client"))
        #expect(entry.nextAttemptAt - context.now == 30_000)
        #expect(wakes.last?.failure?.retryAfterSeconds == 30)
    }
}
