import Foundation
import Glibc
import Testing

/// DESIGN.md §5 "Across replicas": several proxy processes share one real redis-server
/// (`[token_store]`) and one token double that counts token requests; the upstream checks every
/// token like a resource server (token_checking_upstream.py).
@Suite(.serialized) struct TokenStoreTests {
    /// The processes of one test: the store, the token endpoint, the upstream, N replicas.
    final class Fleet {
        let dir: TempDir
        let redis: RedisServer
        let tokens: TokenDouble
        let upstream: ScriptFixture
        private(set) var proxies: [ProxyProcess] = []
        private(set) var admins: [AdminClient] = []
        private var dirs: [TempDir] = []

        static let secret = "fleet-secret-Zq81"
        static let resource = "https://fleet-api.test"

        init(replicas: Int, tokenMode: TokenMode = TokenMode(), redisArgs: [String] = [], redisAuth: [String] = [],
             redisTLS: (cert: String, key: String, ca: String)? = nil, store: [String: String] = [:],
             limits: [String: Int] = [:], label: String, storeFor: ((UInt16) -> [String: String])? = nil) throws {
            dir = try TempDir(label)
            redis = try RedisServer(label: "\(label)-redis", extraArgs: redisArgs, auth: redisAuth, tls: redisTLS)
            tokens = try TokenDouble(in: dir, mode: tokenMode)
            upstream = try ScriptFixture("token_checking_upstream.py", label: "\(label)-upstream")
            for i in 0..<replicas {
                let d = try TempDir("\(label)-replica\(i)")
                var c = TestConfig(listenPort: try FreePort.pick())
                let adminPort = try c.enableAdmin()
                c.server["workers"] = "2"
                c.limits = limits
                // 2 s per store operation: the test machine's two cores are shared by parallel builds,
                // and a timeout would (correctly) make a replica fetch on its own.
                c.tokenStore = ["url": TestConfig.quote("redis://127.0.0.1:\(redis.port)/0"), "timeout_ms": "2000"]
                    .merging(store) { $1 }.merging(storeFor?(redis.port) ?? [:]) { $1 }
                c.credentials = [.init(name: "idp", tokenURL: tokens.tokenURL, clientID: "fleet-client", clientSecret: Self.secret)]
                c.routes = [.init(name: "api", upstream: upstream.url, credential: "idp", resource: Self.resource, scopes: ["read"])]
                proxies.append(try ProxyProcess(config: c, in: d))
                admins.append(try AdminClient(port: adminPort))
                dirs.append(d)
            }
        }

        /// `count` requests at once, spread round-robin over the replicas: all connections are
        /// opened and sent first, then every answer is read. Returns the statuses.
        func burst(_ count: Int, path: String = "/burst") throws -> [Int] {
            let conns = try (0..<count).map { i in try proxies[i % proxies.count].connect() }
            for (i, c) in conns.enumerated() {
                try c.send("GET \(path)/\(i) HTTP/1.1\r\nHost: client.test\r\nConnection: close\r\n\r\n")
            }
            return try conns.map { try $0.readResponse().status }
        }

        func get(_ replica: Int, _ path: String) throws -> HTTPResponse {
            let c = try proxies[replica].connect()
            try c.send("GET \(path) HTTP/1.1\r\nHost: client.test\r\nConnection: close\r\n\r\n")
            return try c.readResponse()
        }

        /// Every replica's output so far.
        var output: String { proxies.map(\.output).joined(separator: "\n") }

        /// Tokens the upstream saw, by request path.
        func upstreamTokens() throws -> [(path: String, token: String, status: Int)] {
            try upstream.records().map { ($0["path"] as? String ?? "", $0["token"] as? String ?? "", $0["status"] as? Int ?? 0) }
        }
    }

    /// The issue's first target: 4 replicas, a cold burst spread over them while the token
    /// endpoint takes 300 ms → exactly one token request, every request served with it. And the
    /// store holds nothing usable: no token, secret, client id or cache key in clear.
    @Test func coldBurstOverFourReplicasCostsOneToken() throws {
        let fleet = try Fleet(replicas: 4, tokenMode: TokenMode(delayMs: 300), label: "store-cold")
        let statuses = try fleet.burst(200)
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 })")
        #expect(try fleet.tokens.tokenRequestCount() == 1)
        let issued = try fleet.tokens.issuedTokens()
        let token = try #require(issued.first)

        // One stored token; a fetch lock (its value a random owner id) may still be on its way
        // out or expiring.
        let dump = try fleet.redis.dump()
        #expect(dump.filter { $0.key.hasPrefix("m2m-proxy:token:") }.count == 1, "store keys: \(dump.map(\.key))")
        for (key, value) in dump {
            #expect(key.hasPrefix("m2m-proxy:token:") || key.hasPrefix("m2m-proxy:lock:"), "store key \(key)")
            for clear in [token, String(token.split(separator: ".")[1]), Fleet.secret, "fleet-client", Fleet.resource, "fleet-api", "read"] {
                #expect(!key.contains(clear) && !value.contains(clear), "the store holds \(clear.prefix(12))… in clear")
            }
        }
        // Three replicas took the token from the store; one fetched it.
        var hits = 0.0
        for a in fleet.admins { hits += try a.metrics()[#"m2m_token_store_operations_total{op="get",outcome="hit"}"#] ?? 0 }
        #expect(hits >= 3)
    }

    /// Two replicas under steady traffic across several lifetimes (ttl 6 s: refresh 3 s before
    /// expiry): the fleet fetches about as often as one process would, never sends an expired
    /// token, never fails a request.
    @Test func refreshIsDoneOnceForTheFleet() throws {
        let fleet = try Fleet(replicas: 2, tokenMode: TokenMode(ttl: 6), label: "store-refresh")
        let start = Date()
        var statuses: [Int] = []
        var i = 0
        while Date().timeIntervalSince(start) < 13 {
            statuses.append(try fleet.get(i % 2, "/steady/\(i)").status)
            i += 1
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 })")
        let s = try fleet.upstream.getJSON("/_stats")
        #expect(s["expired"] as? Int == 0)
        // One process: a token at 0 s, then a refresh every 3 s → 5 in 13 s; the fleet may
        // lose one race at most.
        let fetched = try fleet.tokens.tokenRequestCount()
        #expect(fetched >= 3 && fetched <= 6, "token requests: \(fetched)")
        #expect(fleet.output.contains("token taken from the token store"))
    }

    /// A 401 invalid_token on one replica: that token is deleted from the store and every
    /// replica drops it; after a second none sends it again.
    @Test func revocationReachesEveryReplicaWithinASecond() throws {
        let fleet = try Fleet(replicas: 2, label: "store-revoke")
        #expect(try fleet.get(0, "/warm/a").status == 200)
        #expect(try fleet.get(1, "/warm/b").status == 200)
        #expect(try fleet.tokens.tokenRequestCount() == 1)
        // The upstream refuses the token once: replica 0 drops it, fetches anew and replays.
        let r = try fleet.get(0, "/revoke?reject_once=1")
        #expect(r.status == 200, "\(r.summary)")
        let revoked = try #require(try fleet.upstreamTokens().first { $0.status == 401 }?.token)
        let revokedAt = Date()
        try Wait.until("replica 1 to drop the revoked token", timeout: 5) {
            fleet.proxies[1].output.contains("another replica saw the token")
        }
        #expect(Date().timeIntervalSince(revokedAt) < 1.0)
        for i in 0..<10 {
            #expect(try fleet.get(1, "/after/\(i)").status == 200)
        }
        let after = try fleet.upstreamTokens().filter { $0.path.hasPrefix("/after/") }
        #expect(after.count == 10 && after.allSatisfy { $0.token != revoked })
        // Replica 1 took replica 0's new token: two token requests in all.
        #expect(try fleet.tokens.tokenRequestCount() == 2)
    }

    /// The store dies mid-run (SIGKILL) and comes back empty on the same port: no request fails
    /// meanwhile, each replica fetches on its own, the outage is logged once per replica, and
    /// sharing resumes by itself.
    @Test func storeOutageFailsNoRequestAndSharingResumes() throws {
        let fleet = try Fleet(replicas: 2, label: "store-outage")
        #expect(try fleet.burst(20).allSatisfy { $0 == 200 })
        #expect(try fleet.tokens.tokenRequestCount() == 1)
        fleet.redis.kill()
        var statuses: [Int] = []
        for i in 0..<20 {
            statuses.append(try fleet.get(i % 2, "/outage/\(i)").status)
        }
        // Forced fetches while the store is down: each replica on its own, none fails.
        for a in fleet.admins {
            let r = try a.post("/tokens/refresh")
            #expect(r.status == 200, "\(r.summary)")
        }
        for i in 0..<20 {
            statuses.append(try fleet.get(i % 2, "/outage2/\(i)").status)
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 })")
        #expect(try fleet.tokens.tokenRequestCount() == 3)
        for p in fleet.proxies {
            let lines = p.output.split(separator: "\n").filter { $0.contains("token store") && $0.contains("unavailable") }
            #expect(lines.count == 1, "outage lines: \(lines)")
        }
        var errors = 0.0
        for a in fleet.admins { errors += try a.metrics()["m2m_token_store_errors_total"] ?? 0 }
        #expect(errors >= 1)

        try fleet.redis.restart()
        try Wait.until("both replicas to reach the store again", timeout: 15) {
            fleet.proxies.allSatisfy { $0.output.contains("answers: sharing tokens") }
        }
        // Sharing again: a refresh on replica 0 is taken up by replica 1 without a fetch.
        #expect(try fleet.admins[0].post("/tokens/refresh").status == 200)
        try Wait.until("replica 1 to take replica 0's new token", timeout: 5) {
            fleet.proxies[1].output.contains("token taken from the token store")
        }
        #expect(try fleet.tokens.tokenRequestCount() == 4)
        #expect(try fleet.get(1, "/shared-again").status == 200)
    }

    /// An ACL user with a password: the replicas authenticate and share; the password never
    /// appears in their output. A wrong password: the store refuses, the replica serves anyway.
    @Test func aclUserAuthenticatesAndAWrongPasswordFailsNothing() throws {
        let password = "store-PW-never-logged-91"
        let acl = ["--user", "default", "off", "--user", "proxy", "on", ">\(password)", "~*", "&*", "+@all"]
        let fleet = try Fleet(
            replicas: 2, redisArgs: acl, redisAuth: ["--user", "proxy", "--pass", password],
            store: ["username": "\"proxy\"", "password": TestConfig.quote(password)], label: "store-acl")
        #expect(try fleet.burst(20).allSatisfy { $0 == 200 })
        #expect(try fleet.tokens.tokenRequestCount() == 1)
        #expect(!fleet.output.contains(password))

        let wrong = try Fleet(
            replicas: 1, redisArgs: acl, redisAuth: ["--user", "proxy", "--pass", password],
            store: ["username": "\"proxy\"", "password": "\"not-the-password\""], label: "store-acl-wrong")
        #expect(try wrong.get(0, "/x").status == 200)
        try Wait.until("the refusal in the log", timeout: 5) { wrong.output.contains("WRONGPASS") }
        #expect(!wrong.output.contains("not-the-password"))
        let ready = try wrong.admins[0].get("/readyz")
        #expect(ready.status == 200, "\(ready.summary)")
    }

    /// `redis-sentinel://`: the replicas ask the sentinel for the primary, share through it, and
    /// after `SENTINEL FAILOVER` follow the new primary (the old one turns replica and drops its
    /// clients): no request fails and sharing goes on there.
    @Test func sentinelFailoverIsFollowed() throws {
        let primary = try RedisServer(label: "sentinel-primary")
        let replica = try RedisServer(label: "sentinel-replica", extraArgs: ["--replicaof", "127.0.0.1", String(primary.port)])
        let sentinel = try RedisSentinel(monitoring: primary)
        try Wait.until("the sentinel to know the replica", timeout: 15) { try sentinel.replicaCount() == 1 }
        try Wait.until("the replica to be in sync", timeout: 15) {
            try replica.cli(["INFO", "replication"]).contains("master_link_status:up")
        }
        let url = "redis-sentinel://127.0.0.1:\(sentinel.port)/\(RedisSentinel.masterName)/0"
        let fleet = try Fleet(replicas: 2, store: ["url": TestConfig.quote(url)], label: "store-sentinel")
        #expect(try fleet.burst(20).allSatisfy { $0 == 200 })
        #expect(try fleet.tokens.tokenRequestCount() == 1)
        #expect(try primary.dump().filter { $0.key.contains(":token:") }.count == 1)

        try sentinel.cli(["SENTINEL", "FAILOVER", RedisSentinel.masterName])
        var statuses: [Int] = []
        var i = 0
        try Wait.until("the sentinel to name the replica as primary", timeout: 20) {
            statuses.append(try fleet.get(i % 2, "/failover/\(i)").status)
            i += 1
            return try sentinel.primaryPort() == replica.port
        }
        try Wait.until("the new primary to take writes", timeout: 20) {
            try replica.cli(["INFO", "replication"]).contains("role:master")
        }
        // The old primary dropped its clients when it turned replica: each proxy reconnects
        // through the sentinel (its last store line says it answers again).
        func storeLines(_ p: ProxyProcess) -> [Substring] {
            p.output.split(separator: "\n").filter { $0.contains("token store") && ($0.contains("answers") || $0.contains("unavailable")) }
        }
        try Wait.until("both proxies to reconnect to the new primary", timeout: 20) {
            statuses.append(try fleet.get(i % 2, "/failover/\(i)").status)
            i += 1
            return fleet.proxies.allSatisfy { p in
                let lines = storeLines(p)
                return lines.contains { $0.contains("unavailable") } && lines.last?.contains("answers") == true
            }
        }
        // Sharing on the new primary: a refresh on replica 0 is stored there and taken by replica
        // 1. The sentinel also drops the clients of the promoted server, so a refresh may still
        // meet a reconnecting client (it is then this replica's alone): refresh until shared.
        func taken() -> Int {
            fleet.proxies[1].output.split(separator: "\n").filter { $0.contains("token taken from the token store") }.count
        }
        let before = taken()
        var refreshes = 0
        try Wait.until("replica 1 to take a token stored on the new primary", timeout: 20) {
            if taken() > before { return true }
            if refreshes < 10 {
                refreshes += 1
                let r = try fleet.admins[0].post("/tokens/refresh")
                guard r.status == 200 else { throw HarnessError("refresh answered \(r.summary)") }
                try? Wait.until("replica 1 to take it", timeout: 1) { taken() > before }
            }
            return taken() > before
        }
        #expect(try replica.dump().filter { $0.key.contains(":token:") }.count == 1)
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 })")
        withExtendedLifetime(primary) {}
    }

    /// `rediss://`: TLS to the store, verified against `tls_ca_file` (and the host name): the
    /// replicas share through it. A store whose certificate is not trusted is not used at all
    /// (each replica fetches on its own, and says why once).
    @Test func redissIsVerifiedTLS() throws {
        let pki = try TestPKI.get()
        let server = pki.pair("server")
        let tls = (cert: server.cert, key: server.key, ca: pki.caFile)
        let fleet = try Fleet(replicas: 2, redisTLS: tls, store: [:], label: "store-tls") { (port: UInt16) in
            ["url": TestConfig.quote("rediss://localhost:\(port)/0"), "tls_ca_file": TestConfig.quote(pki.caFile)]
        }
        #expect(try fleet.burst(20).allSatisfy { $0 == 200 })
        #expect(try fleet.tokens.tokenRequestCount() == 1)
        #expect(try fleet.redis.dump().filter { $0.key.contains(":token:") }.count == 1)

        let untrusted = try Fleet(replicas: 2, redisTLS: tls, store: [:], label: "store-tls-untrusted") { (port: UInt16) in
            ["url": TestConfig.quote("rediss://localhost:\(port)/0")]
        }
        #expect(try untrusted.burst(20).allSatisfy { $0 == 200 })
        #expect(try untrusted.tokens.tokenRequestCount() == 2)
        try Wait.until("the TLS refusal in the log", timeout: 5) { untrusted.output.contains("TLS") && untrusted.output.contains("unavailable") }
    }
}
