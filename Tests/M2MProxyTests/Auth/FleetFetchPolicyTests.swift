import Testing
@testable import M2MProxy

extension Auth {
    /// The fleet single-flight rules with an injected clock.
    @Suite struct FleetFetchPolicyTests {
        private static func token(expiresAtMs: Int64, lifetime: Int = 60) -> StoredToken {
            StoredToken(accessToken: Secret("t"), lifetimeSeconds: lifetime, expiresAtMs: expiresAtMs)
        }

        @Test func storedTokenIsTakenWhileSendableBeyondTheMargin() {
            let now: Int64 = 1_000_000
            // 60 s lifetime: margin 5 s; usable while more than margin + 1 s remain.
            #expect(FleetFetchPolicy.usable(Self.token(expiresAtMs: now + 60_000), nowMs: now, heldExpiresAtMs: nil, revoked: false))
            #expect(FleetFetchPolicy.usable(Self.token(expiresAtMs: now + 6_001), nowMs: now, heldExpiresAtMs: nil, revoked: false))
            #expect(!FleetFetchPolicy.usable(Self.token(expiresAtMs: now + 6_000), nowMs: now, heldExpiresAtMs: nil, revoked: false))
            #expect(!FleetFetchPolicy.usable(Self.token(expiresAtMs: now - 1), nowMs: now, heldExpiresAtMs: nil, revoked: false))
            #expect(!FleetFetchPolicy.usable(Self.token(expiresAtMs: now + 60_000), nowMs: now, heldExpiresAtMs: nil, revoked: true))
        }

        /// At the refresh point a replica takes only a newer token than the one it holds (a
        /// peer's refresh), not its own again.
        @Test func whileHoldingOnlyANewerTokenIsTaken() {
            let now: Int64 = 1_000_000
            let held = now + 20_000
            #expect(!FleetFetchPolicy.usable(Self.token(expiresAtMs: held), nowMs: now, heldExpiresAtMs: held, revoked: false))
            #expect(!FleetFetchPolicy.usable(Self.token(expiresAtMs: held - 1), nowMs: now, heldExpiresAtMs: held, revoked: false))
            #expect(FleetFetchPolicy.usable(Self.token(expiresAtMs: held + 1), nowMs: now, heldExpiresAtMs: held, revoked: false))
            #expect(FleetFetchPolicy.usable(Self.token(expiresAtMs: held + 40_000), nowMs: now, heldExpiresAtMs: held, revoked: false))
        }

        @Test func lockOutlivesNoParkedRequest() {
            let p = FleetFetchPolicy(tokenWaitMs: 5000)
            // A dead owner's lock expires while parked requests still wait, and a loser stops
            // waiting early enough to fetch on its own within token_wait_ms.
            #expect(p.lockTTLMs == 2500 && p.waitBudgetMs == 3750)
            #expect(FleetFetchPolicy(tokenWaitMs: 100).lockTTLMs == 1000)
            #expect(FleetFetchPolicy.storeTTLMs(Self.token(expiresAtMs: 100_000), nowMs: 40_000) == 55_000)
        }
    }
}
