import Foundation
import Glibc
import Testing

/// DESIGN.md §2 SIGHUP: a valid new file takes effect for new requests, a bad one is refused
/// with the reason logged, cached tokens of unchanged keys survive, a rotated secret gets a new
/// token, and no connection is dropped while reloading under load.
@Suite struct ReloadTests {
    /// Rewrites the proxy's config file and sends SIGHUP; waits until the log says how it went.
    static func reload(_ bed: ProxyTestBed, _ config: TestConfig, expect marker: String) throws {
        let before = bed.proxy.output.components(separatedBy: marker).count
        try config.toml.write(toFile: bed.proxy.configPath, atomically: true, encoding: .utf8)
        bed.proxy.process.signal(SIGHUP)
        try Wait.until("'\(marker)' in the proxy's log", timeout: 10) {
            bed.proxy.output.components(separatedBy: marker).count > before
        }
    }

    @Test func addedRouteServesAfterReloadAndTokensAreKept() throws {
        let bed = try ProxyTestBed()
        #expect(try bed.get("/new/x").status == 200)  // the bed's route takes "/" for now
        #expect(try bed.tokens.tokenRequestCount() == 1)

        var c = bed.config
        c.routes = [
            .init(name: "only-api", pathPrefix: "/api", upstream: bed.upstream.url, credential: "idp",
                  resource: "https://api.test", scopes: ["read"]),
        ]
        try Self.reload(bed, c, expect: "configuration reloaded")
        #expect(try bed.get("/new/x").status == 404)
        let r = try bed.get("/api/x")
        #expect(r.status == 200)
        // Same credential, resource and scopes: the cached token is reused, nothing fetched.
        #expect(try bed.tokens.tokenRequestCount() == 1)
        #expect(try bed.upstream.lastRequest().header("Authorization")?.hasPrefix("Bearer ") == true)
    }

    @Test func invalidFileKeepsTheRunningConfiguration() throws {
        let bed = try ProxyTestBed()
        #expect(try bed.get("/x").status == 200)
        try "[[route]]\nupstream = \"ftp://nope\"\n".write(toFile: bed.proxy.configPath, atomically: true, encoding: .utf8)
        bed.proxy.process.signal(SIGHUP)
        try Wait.until("the reload failure in the log", timeout: 10) { bed.proxy.output.contains("reload failed") }
        #expect(bed.proxy.output.contains("route[0].upstream"))
        #expect(try bed.get("/x").status == 200)
        #expect(bed.proxy.process.isRunning)
    }

    @Test func rotatedSecretGetsANewToken() throws {
        let bed = try ProxyTestBed()
        #expect(try bed.get("/x").status == 200)
        let first = try bed.upstream.lastRequest().header("Authorization")
        var c = bed.config
        c.credentials[0].clientSecret = "rotated-secret"
        try Self.reload(bed, c, expect: "configuration reloaded")
        #expect(try bed.get("/x").status == 200)
        #expect(try bed.tokens.tokenRequestCount() == 2)
        #expect(try bed.upstream.lastRequest().header("Authorization") != first)
        let basic = try bed.tokens.requests().last?.header("Authorization") ?? ""
        let decoded = String(decoding: Data(base64Encoded: String(basic.dropFirst("Basic ".count))) ?? Data(), as: UTF8.self)
        #expect(decoded.hasSuffix(":rotated-secret"))
    }

    /// Keep-alive clients hammering the proxy see no error across three reloads.
    @Test func noConnectionDroppedWhileReloadingUnderLoad() throws {
        let bed = try ProxyTestBed()
        let stop = LockedFlag()
        let failures = LockedCounter()
        let done = LockedCounter()
        let conns = try (0..<4).map { _ in UncheckedBox(try bed.connect()) }
        let threads = conns.map { box in
            Thread {
                do {
                    let conn = box.value
                    while !stop.value {
                        try conn.send("GET /load HTTP/1.1\r\nHost: x\r\n\r\n")
                        if try conn.readResponse().status != 200 { failures.add() }
                        done.add()
                    }
                } catch {
                    failures.add()
                }
            }
        }
        threads.forEach { $0.start() }
        for i in 0..<3 {
            var c = bed.config
            c.routes[0].name = "main-\(i)"
            try Self.reload(bed, c, expect: "configuration reloaded")
        }
        stop.set()
        try Wait.until("load threads to stop", timeout: 10) { threads.allSatisfy { $0.isFinished } }
        #expect(failures.value == 0)
        #expect(done.value > 20)
    }
}

private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

private final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var v = false
    var value: Bool { lock.withLock { v } }
    func set() { lock.withLock { v = true } }
}

private final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var v = 0
    var value: Int { lock.withLock { v } }
    func add() { lock.withLock { v += 1 } }
}
