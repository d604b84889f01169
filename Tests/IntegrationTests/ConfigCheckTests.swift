import Foundation
import Testing

/// `m2m-proxy check` (exit 0/1, `keyPath: message`) and start-up failures (exit 2, one line on
/// stderr, no stack trace) — DESIGN.md §2, §3.
@Suite struct ConfigCheckTests {
    static func valid(upstream: String = "http://127.0.0.1:9") -> TestConfig {
        var c = TestConfig(listenPort: 18080)
        c.credentials = [.init(name: "idp", tokenURL: "http://127.0.0.1:9/oidc/token", clientID: "id", clientSecret: "s")]
        c.routes = [
            .init(name: "a", pathPrefix: "/a", upstream: upstream, credential: "idp", resource: "https://api.test", scopes: ["read"]),
            .init(name: "b", pathPrefix: "/b", upstream: "http://127.0.0.1:9"),
        ]
        return c
    }

    /// Lines of `check`'s output (stdout and stderr) that carry `keyPath` as a `keyPath: message` problem.
    static func problemLines(_ o: ProxyProcess.Outcome, keyPath: String) -> [String] {
        (o.stdout + "\n" + o.stderr).split(separator: "\n").map(String.init).filter { $0.contains("\(keyPath): ") }
    }

    @Test func validConfigPasses() throws {
        let dir = try TempDir("check")
        let o = try ProxyProcess.check(Self.valid().toml, in: dir)
        #expect(o.status == 0, "stdout: \(o.stdout) stderr: \(o.stderr)")
    }

    @Test func badUpstreamSchemeNamesTheKeyPath() throws {
        let dir = try TempDir("check")
        var c = Self.valid()
        c.routes[1].upstream = "ftp://127.0.0.1/x"
        let o = try ProxyProcess.check(c.toml, in: dir)
        #expect(o.status == 1, "stdout: \(o.stdout) stderr: \(o.stderr)")
        #expect(!Self.problemLines(o, keyPath: "route \"b\" (route[1]).upstream").isEmpty, "stdout: \(o.stdout) stderr: \(o.stderr)")
    }

    @Test func unknownCredentialNamesTheKeyPath() throws {
        let dir = try TempDir("check")
        var c = Self.valid()
        c.routes[0].credential = "nope"
        let o = try ProxyProcess.check(c.toml, in: dir)
        #expect(o.status == 1)
        #expect(!Self.problemLines(o, keyPath: "route \"a\" (route[0]).credential").isEmpty, "stdout: \(o.stdout) stderr: \(o.stderr)")
    }

    /// Issue 16, as a new user met it: a typo gets a "did you mean", the route is named, and the
    /// credential of the broken route is not falsely reported as unused.
    @Test func typoGetsAHintAndNoFalseUsageWarning() throws {
        let dir = try TempDir("check")
        let toml = """
            [credential.c1]
            token_url = "http://127.0.0.1:9/oidc/token"
            client_id = "id"
            client_secret = "s"

            [[route]]
            name = "shopping"
            upsteam = "http://127.0.0.1:9"
            credential = "c1"
            """
        let o = try ProxyProcess.check(toml, in: dir)
        let all = o.stdout + o.stderr
        #expect(o.status == 1, "\(all)")
        #expect(all.contains("route \"shopping\" (route[0]).upsteam: unknown key; did you mean \"upstream\"?"), "\(all)")
        #expect(!all.contains("not used by any route"), "\(all)")
    }

    @Test func missingEnvironmentVariableIsAnErrorNamingTheKey() throws {
        let dir = try TempDir("check")
        var c = Self.valid()
        c.credentials[0].clientID = "${M2M_ITEST_SURELY_UNSET_VARIABLE}"
        let o = try ProxyProcess.check(c.toml, in: dir)
        #expect(o.status == 1)
        #expect((o.stdout + o.stderr).contains("client_id"), "stdout: \(o.stdout) stderr: \(o.stderr)")
    }

    @Test func environmentDefaultIsUsed() throws {
        let dir = try TempDir("check")
        var c = Self.valid()
        c.credentials[0].clientID = "${M2M_ITEST_SURELY_UNSET_VARIABLE:-fallback-id}"
        let o = try ProxyProcess.check(c.toml, in: dir)
        #expect(o.status == 0, "stdout: \(o.stdout) stderr: \(o.stderr)")
    }

    @Test func shadowedRouteIsWarnedAbout() throws {
        let dir = try TempDir("check")
        var c = TestConfig(listenPort: 18080)
        c.routes = [.init(name: "all", upstream: "http://127.0.0.1:9"), .init(name: "never", pathPrefix: "/x", upstream: "http://127.0.0.1:9")]
        let o = try ProxyProcess.check(c.toml, in: dir)
        // A warning, not an error: assumed to keep exit status 0.
        #expect(o.status == 0, "stdout: \(o.stdout) stderr: \(o.stderr)")
        #expect((o.stdout + o.stderr).contains("route \"never\" (route[1])"), "stdout: \(o.stdout) stderr: \(o.stderr)")
    }

    @Test func tomlSyntaxErrorIsInvalid() throws {
        let dir = try TempDir("check")
        let o = try ProxyProcess.check("[server\nlisten = \n", in: dir)
        #expect(o.status == 1, "stdout: \(o.stdout) stderr: \(o.stderr)")
    }

    /// Exit 2 and exactly one line on stderr, without a crash trace.
    static func expectStartFailure(_ o: ProxyProcess.Outcome, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(o.status == 2, "status \(o.status); stderr: \(o.stderr)", sourceLocation: sourceLocation)
        let lines = o.stderr.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        #expect(lines.count == 1, "stderr: \(o.stderr)", sourceLocation: sourceLocation)
        #expect(!o.stderr.contains("Fatal error") && !o.stderr.contains("Stack dump"), sourceLocation: sourceLocation)
    }

    @Test func serveWithInvalidConfigExits2() throws {
        let dir = try TempDir("start")
        var c = Self.valid()
        c.listen = "127.0.0.1:\(try FreePort.pick())"
        c.routes[0].upstream = "ftp://x"
        let path = try dir.write("bad.conf", c.toml)
        Self.expectStartFailure(try ProxyProcess.runToExit(["--config", path], in: dir))
    }

    @Test func serveWithMissingConfigFileExits2() throws {
        let dir = try TempDir("start")
        Self.expectStartFailure(try ProxyProcess.runToExit(["--config", dir.file("does-not-exist.conf")], in: dir))
    }

    @Test func listenAddressInUseExits2() throws {
        let dir = try TempDir("start")
        let occupant = try UpstreamFixture(in: dir)  // a plain listener on a port
        var c = Self.valid()
        c.listen = "127.0.0.1:\(occupant.port)"
        let path = try dir.write("busy.conf", c.toml)
        Self.expectStartFailure(try ProxyProcess.runToExit(["--config", path], in: dir))
    }
}
