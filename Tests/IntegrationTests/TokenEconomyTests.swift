import Foundation
import Testing

/// DESIGN.md §5 against the token double with short lifetimes and faults, and an upstream that
/// checks every token's `exp` like a resource server (token_checking_upstream.py).
/// Lifetimes are a few seconds, so these tests wait on the clock by design.
@Suite struct TokenEconomyTests {
    private static func bed(_ mode: TokenMode, limits: [String: Int] = [:]) throws -> (ProxyTestBed, ScriptFixture) {
        var up: ScriptFixture?
        let bed = try ProxyTestBed(tokenMode: mode, label: "economy") { c, _, tok in
            let u = try ScriptFixture("token_checking_upstream.py", label: "checking-upstream")
            up = u
            c.limits = limits
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [.init(name: "api", upstream: u.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        return (bed, up!)
    }


    /// Sends a request every `everyMs` for `seconds`; returns the statuses.
    private static func traffic(_ bed: ProxyTestBed, seconds: Double, everyMs: Int = 100, path: String = "/x") throws -> [Int] {
        var statuses: [Int] = []
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            statuses.append(try bed.get(path).status)
            Thread.sleep(forTimeInterval: Double(everyMs) / 1000)
        }
        return statuses
    }

    /// ttl 4 s: refresh point at 2 s (never more than half the lifetime), last send at 3 s
    /// (margin = a quarter). Under steady use: a fetch about every 2 s, never a 503, and the
    /// upstream never sees an expired token.
    @Test func usedKeyIsRefreshedAheadOfExpiryAndNoExpiredTokenIsSent() throws {
        var mode = TokenMode()
        mode.ttl = 4
        let (bed, up) = try Self.bed(mode)
        let statuses = try Self.traffic(bed, seconds: 7)
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 })")
        let s = try up.getJSON("/_stats")
        #expect(s["expired"] as? Int == 0)
        let fetched = try bed.tokens.tokenRequestCount()
        #expect(fetched >= 3 && fetched <= 5, "token requests: \(fetched)")
    }

    /// The endpoint fails while a valid token is held: traffic stays 200 and refresh retries back
    /// off. After expiry requests get 503 + Retry-After with the reason, and recover once the
    /// endpoint does.
    ///
    /// The schedule is counted from the moment the double issued the token (its log's `t`), not
    /// from the test's own start: the bed's start-up and the first request take a varying time
    /// on a busy machine, and the token's windows (refresh at 4 s, last send at 6 s) are the
    /// proxy's, relative to that fetch.
    @Test func outageWithValidTokenKeepsServingThenRecovers() throws {
        var mode = TokenMode()
        mode.ttl = 8  // refresh at 4 s, last send at 6 s
        let (bed, up) = try Self.bed(mode)
        #expect(try bed.get("/x").status == 200)
        let issued = try #require(try bed.tokens.requests().first?.t, "the double records when it issued the token")
        let fetched = Date(timeIntervalSince1970: issued)
        var failing = TokenMode()
        failing.status = 500
        failing.body = "oops"
        try bed.tokens.setMode(failing)
        // Up to 5.2 s: across the refresh point, before the last send.
        let during = try Self.traffic(bed, seconds: 5.2 - Date().timeIntervalSince(fetched))
        #expect(during.allSatisfy { $0 == 200 }, "\(during)")
        let attempts = try bed.tokens.tokenRequestCount()
        #expect(attempts >= 2 && attempts <= 6, "token requests during the outage: \(attempts)")

        // Past exp - margin (6 s after the fetch, as the proxy received it): no token may be sent
        // any more. The first request after 6.05 s must already get the 503; a slow answer of
        // the double is allowed for, up to the token's end.
        Thread.sleep(forTimeInterval: max(0, 6.05 - Date().timeIntervalSince(fetched)))
        var r = try bed.get("/x")
        while r.status == 200 && Date().timeIntervalSince(fetched) < 8 {
            Thread.sleep(forTimeInterval: 0.05)
            r = try bed.get("/x")
        }
        #expect(r.status == 503)
        #expect(r.json?["error"] as? String == "token_unavailable")
        #expect((r.json?["message"] as? String)?.contains("HTTP 500") == true, "\(r.bodyText)")
        #expect(r.header("Retry-After") != nil)

        try bed.tokens.setMode(mode)
        var recovered = false
        let deadline = Date().addingTimeInterval(12)
        while Date() < deadline {
            if try bed.get("/x").status == 200 { recovered = true; break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(recovered)
        // The upstream never saw an expired token (the strict "last send" instant is
        // `TokenCacheTests`' on a manual clock).
        #expect(try up.getJSON("/_stats")["expired"] as? Int == 0)
    }

    /// 429 with Retry-After: 30 → the 503s carry Retry-After and the endpoint is not asked again
    /// meanwhile. (That the next fetch waits exactly that long, and that an idle key is not
    /// refreshed, are `TokenCacheTests` on a manual clock: no wall-clock waits here.)
    @Test func rateLimitRetryAfterIsObeyed() throws {
        var mode = TokenMode()
        mode.status = 429
        mode.retryAfter = "30"
        mode.body = "{\"error\":\"too_many_requests\"}"
        let (bed, up) = try Self.bed(mode)
        defer { withExtendedLifetime(up) {} }
        let first = try bed.get("/x")
        #expect(first.status == 503)
        #expect((first.json?["message"] as? String)?.contains("429") == true)
        #expect(first.header("Retry-After") == "30")
        for _ in 0..<5 {
            #expect(try bed.get("/x").status == 503)
        }
        #expect(try bed.tokens.tokenRequestCount() == 1)
    }

    /// invalid_client: retried no faster than every 30 s, whatever the traffic.
    @Test func refusedCredentialIsNotHammered() throws {
        var mode = TokenMode()
        mode.status = 401
        mode.error = "invalid_client"
        let (bed, up) = try Self.bed(mode)
        defer { withExtendedLifetime(up) {} }
        let statuses = try Self.traffic(bed, seconds: 2, everyMs: 50)
        #expect(statuses.allSatisfy { $0 == 503 })
        #expect(try bed.tokens.tokenRequestCount() == 1)
        let r = try bed.get("/x")
        #expect((r.json?["message"] as? String)?.contains("invalid_client") == true)
        #expect(Int(r.header("Retry-After") ?? "") ?? 0 >= 25)
    }

    /// A 200 without a usable token is a failure retried like a 5xx (short backoff), not fatal.
    @Test func malformed200IsRetriedLikeA5xx() throws {
        var mode = TokenMode()
        mode.body = "<html>not a token</html>"
        let (bed, up) = try Self.bed(mode)
        defer { withExtendedLifetime(up) {} }
        #expect(try bed.get("/x").status == 503)
        try bed.tokens.setMode(TokenMode())
        var ok = false
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            if try bed.get("/x").status == 200 { ok = true; break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(ok)
        #expect(try bed.tokens.tokenRequestCount() == 2)
    }

    /// 401 with `error="invalid_token"` to the token we sent: that token is dropped, one new one
    /// is fetched, and the request is replayed once; the client sees only the 200.
    @Test func upstream401InvalidTokenReplaysOnceWithAFreshToken() throws {
        let (bed, up) = try Self.bed(TokenMode())
        let r = try bed.get("/x?reject_once=1")
        #expect(r.status == 200, "\(r.summary)")
        let records = try up.records()
        #expect(records.map { $0["status"] as? Int } == [401, 200])
        #expect(records[0]["token"] as? String != records[1]["token"] as? String)
        #expect(try bed.tokens.tokenRequestCount() == 2)
        // The new token serves later requests; nothing else is fetched.
        #expect(try bed.get("/x").status == 200)
        #expect(try bed.tokens.tokenRequestCount() == 2)
    }

    /// A small body is held and replayed intact.
    @Test func upstream401ReplaysASmallBody() throws {
        let (bed, up) = try Self.bed(TokenMode())
        let body = String(repeating: "b", count: 4000)
        let r = try bed.exchange("POST /echo?reject_once=1 HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        #expect(r.status == 200)
        #expect(r.bodyText == body)
        #expect(try up.records().map { $0["body_len"] as? Int } == [4000, 4000])
    }

    /// A body larger than limits.replay_body_bytes is not held: the 401 goes to the client.
    @Test func upstream401WithALargeStreamedBodyIsPassedThrough() throws {
        let (bed, up) = try Self.bed(TokenMode(), limits: ["replay_body_bytes": 1000])
        #expect(try bed.get("/warm").status == 200)  // token held: the body streams at once
        let c = try bed.connect()
        let body = [UInt8](repeating: 0x61, count: 200_000)
        try c.send("POST /echo?reject_once=1 HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n")
        try c.send(body)
        let r = try c.readResponse()
        #expect(r.status == 401)
        #expect(r.header("WWW-Authenticate")?.contains("invalid_token") == true)
        #expect(try up.records().filter { ($0["path"] as? String) == "/echo" }.count == 1)
    }

    /// A 503 for a request whose small body already arrived keeps the connection: the pipelined
    /// request behind it is answered too.
    @Test func tokenFailureKeepsTheConnectionForACompleteBody() throws {
        var mode = TokenMode()
        mode.status = 500
        mode.body = "oops"
        let (bed, up) = try Self.bed(mode)
        defer { withExtendedLifetime(up) {} }
        let c = try bed.connect()
        try c.send("POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /r2 HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = try c.readResponse()
        let second = try c.readResponse()
        #expect(first.status == 503 && first.header("Connection") == nil)
        #expect(second.status == 503)
    }

    /// An endpoint that closes the connection without a byte is reported as such (not "HTTP 0").
    @Test func droppedTokenConnectionIsReportedPlainly() throws {
        var mode = TokenMode()
        mode.drop = true
        let (bed, up) = try Self.bed(mode)
        defer { withExtendedLifetime(up) {} }
        let r = try bed.get("/x")
        #expect(r.status == 503)
        #expect((r.json?["message"] as? String)?.contains("closed the connection without answering") == true, "\(r.bodyText)")
    }
}
