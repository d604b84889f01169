import Foundation
import Testing
@testable import M2MProxy

private let credential = ConfigTestSupport.credential
private func parse(_ toml: String, env: [String: String] = [:]) -> ConfigLoadResult {
    ConfigTestSupport.parse(toml, environment: env)
}
private func errors(_ toml: String, env: [String: String] = [:]) -> [String] {
    ConfigTestSupport.errors(toml, environment: env)
}
private func warnings(_ toml: String, env: [String: String] = [:]) -> [String] {
    ConfigTestSupport.warnings(toml, environment: env)
}
/// One route around `body` (plus the `logto` credential), for route-level tests.
private func route(_ body: String) -> String {
    credential + "[[route]]\n" + body + "\n"
}

extension ConfigTests {
    @Suite struct ConfigLoaderDefaultsTests {
        @Test func emptyFileGivesDefaultsAndWarnsAboutNoRoutes() throws {
            let result = parse("")
            #expect(result.errors.isEmpty)
            #expect(result.warnings.map(\.description) == ["route: no routes configured: every request gets 404"])
            let config = try #require(result.config)
            #expect(config.server.listen == [ListenAddress(host: "0.0.0.0", port: 8080)])
            #expect(config.server.workers == 0)
            #expect(config.server.adminListen == ListenAddress(host: "127.0.0.1", port: 9901))
            #expect(config.server.drainTimeoutMs == 10000)
            #expect(config.server.accessLog == true)
            let limits = config.limits
            #expect(limits.maxHeaderBytes == 32768)
            #expect(limits.maxBodyBytes == 10_485_760)
            #expect(limits.headerTimeoutMs == 10000)
            #expect(limits.bodyTimeoutMs == 30000)
            #expect(limits.idleTimeoutMs == 60000)
            #expect(limits.connectTimeoutMs == 3000)
            #expect(limits.responseTimeoutMs == 30000)
            #expect(limits.tokenWaitMs == 5000)
            #expect(config.credentials.isEmpty)
            #expect(config.routes.isEmpty)
        }

        @Test func routeAndCredentialDefaults() throws {
            let config = try #require(parse(route("upstream = \"http://api:8080\"\ncredential = \"logto\"")).config)
            let credential = try #require(config.credentials.first)
            #expect(credential.name == "logto")
            #expect(credential.tokenURL == EndpointURL(scheme: .http, host: "logto", port: 3001, path: "/oidc/token", authority: "logto:3001"))
            #expect(credential.clientID == "app-id")
            #expect(credential.clientSecret == Secret("app-secret"))
            #expect(credential.authMethod == .clientSecretBasic)
            #expect(credential.prefetch == false)
            #expect(credential.tlsCAFile == nil)

            let route = try #require(config.routes.first)
            #expect(route.name == "route0")
            #expect(route.host == .any)
            #expect(route.pathPrefix == "/")
            #expect(route.methods == nil)
            #expect(route.upstream == EndpointURL(scheme: .http, host: "api", port: 8080, path: "", authority: "api:8080"))
            #expect(route.credentialIndex == 0)
            #expect(route.resource == nil)
            #expect(route.scopes == [])
            #expect(route.organizationID == nil)
            #expect(route.preserveHost == false)
            #expect(route.tlsCAFile == nil)
        }

        @Test func everyKeySet() throws {
            let toml = """
                [server]
                listen = ["0.0.0.0:8080", "[::]:8080"]
                workers = 4
                admin_listen = "[::1]:9000"
                drain_timeout_ms = 0

                [limits]
                max_header_bytes = 1
                max_body_bytes = 2
                header_timeout_ms = 3
                body_timeout_ms = 4
                idle_timeout_ms = 5
                connect_timeout_ms = 6
                response_timeout_ms = 7
                token_wait_ms = 8

                [credential.logto]
                token_url = "http://Logto/oidc/token"
                client_id = "id"
                client_secret = "secret"
                auth_method = "client_secret_post"
                prefetch = true

                [[route]]
                name = "shopping"
                host = "Shop.Internal"
                path_prefix = "/products/"
                methods = ["get", "HEAD", "GET"]
                upstream = "http://shopping-api:8080/v1/"
                credential = "logto"
                resource = "https://shopping.api"
                scopes = ["read:products", "write:products"]
                organization_id = "org_123"
                preserve_host = true
                """
            let result = parse(toml)
            #expect(result.errors == [])
            #expect(result.warnings.filter { !ConfigTestSupport.isExposureWarning($0) } == [])
            let config = try #require(result.config)
            #expect(config.server.listen == [ListenAddress(host: "0.0.0.0", port: 8080), ListenAddress(host: "::", port: 8080)])
            #expect(config.server.workers == 4)
            #expect(config.server.adminListen == ListenAddress(host: "::1", port: 9000))
            #expect(config.server.drainTimeoutMs == 0)
            let l = config.limits
            let values: [Int] = [
                l.maxHeaderBytes, l.maxBodyBytes, l.headerTimeoutMs, l.bodyTimeoutMs, l.idleTimeoutMs,
                l.connectTimeoutMs, l.responseTimeoutMs, l.tokenWaitMs,
            ]
            #expect(values == [1, 2, 3, 4, 5, 6, 7, 8])
            #expect(config.credentials[0].authMethod == .clientSecretPost)
            #expect(config.credentials[0].prefetch)
            #expect(config.credentials[0].tokenURL.authority == "logto")
            let route = config.routes[0]
            #expect(route.name == "shopping")
            #expect(route.host == .exact("shop.internal"))
            #expect(route.pathPrefix == "/products")
            #expect(route.methods == ["GET", "HEAD"])
            #expect(route.upstream.path == "/v1")
            #expect(route.resource == "https://shopping.api")
            #expect(route.scopes == ["read:products", "write:products"])
            #expect(route.organizationID == "org_123")
            #expect(route.preserveHost)
        }
    }

    @Suite struct ConfigLoaderServerTests {
        @Test func listenAsStringOrArray() throws {
            #expect(try #require(parse("[server]\nlisten = \":9000\"").config).server.listen == [ListenAddress(host: "0.0.0.0", port: 9000)])
            #expect(try #require(parse("[server]\nlisten = [\"localhost:1\", \"[::1]:2\"]").config).server.listen
                == [ListenAddress(host: "127.0.0.1", port: 1), ListenAddress(host: "::1", port: 2)])
        }

        @Test func listenErrors() {
            #expect(errors("[server]\nlisten = \"127.0.0.1:0\"") == ["server.listen: port must be 1-65535"])
            #expect(errors("[server]\nlisten = [\"127.0.0.1:80\", \"nope\"]")
                == ["server.listen[1]: must be host:port, e.g. 0.0.0.0:8080 or [::]:8080"])
            #expect(errors("[server]\nlisten = []") == ["server.listen: must not be empty"])
            #expect(errors("[server]\nlisten = 8080") == ["server.listen: must be a string or an array of strings"])
            #expect(errors("[server]\nlisten = [8080]") == ["server.listen[0]: must be a string"])
            #expect(errors("[server]\nlisten = [\":80\", \"0.0.0.0:80\"]") == ["server.listen[1]: duplicate of server.listen[0]"])
        }

        @Test func adminListen() throws {
            #expect(try #require(parse("[server]\nadmin_listen = \"\"").config).server.adminListen == nil)
            #expect(try #require(parse("[server]\nadmin_listen = \"${ADMIN:-}\"").config).server.adminListen == nil)
            #expect(errors("[server]\nadmin_listen = \"0.0.0.0:8080\"") == ["server.admin_listen: same address as server.listen[0]"])
            #expect(errors("[server]\nadmin_listen = \"x\"") == ["server.admin_listen: must be host:port, e.g. 0.0.0.0:8080 or [::]:8080"])
            #expect(errors("[server]\nadmin_listen = false") == ["server.admin_listen: must be a string"])
        }

        @Test func accessLog() throws {
            #expect(try #require(parse("[server]\naccess_log = false").config).server.accessLog == false)
            #expect(try #require(parse("[server]\naccess_log = true").config).server.accessLog == true)
            #expect(errors("[server]\naccess_log = \"yes\"") == ["server.access_log: must be true or false"])
        }

        @Test func numbers() {
            #expect(errors("[server]\nworkers = -1") == ["server.workers: must be 0 (one per CPU core) or more"])
            #expect(errors("[server]\nworkers = 100000") == ["server.workers: must be at most 1024"])
            #expect(errors("[server]\nworkers = \"4\"") == ["server.workers: must be an integer"])
            #expect(errors("[server]\nworkers = 1.5") == ["server.workers: must be an integer"])
            #expect(errors("[server]\ndrain_timeout_ms = -5") == ["server.drain_timeout_ms: must be 0 or more"])
        }

        @Test func sectionMustBeATable() {
            #expect(errors("server = 1") == ["server: must be a table"])
        }

        /// Date-times parse (TOML allows them anywhere) but no key takes one: each getter reports
        /// its usual type error, as for any other wrong type.
        @Test func dateTimesAreTypeErrors() {
            #expect(errors("[server]\nworkers = 1979-05-27") == ["server.workers: must be an integer"])
            #expect(errors("[server]\naccess_log = 07:32:00") == ["server.access_log: must be true or false"])
            #expect(errors("[server]\nlisten = 1979-05-27T07:32:00Z") == ["server.listen: must be a string or an array of strings"])
            #expect(errors("[server]\nlisten = [1979-05-27 07:32:00]") == ["server.listen[0]: must be a string"])
        }
    }

    @Suite struct ConfigLoaderLimitsTests {
        @Test(arguments: ConfigLoader.limitKeys.map(\.key).filter { !["replay_body_bytes", "max_requests_per_connection", "upstream_idle_connections", "read_timeout_ms", "retries", "dns_refresh_ms"].contains($0) })
        func mustBePositiveIntegers(key: String) {
            #expect(errors("[limits]\n\(key) = 0") == ["limits.\(key): must be a positive integer"])
            #expect(errors("[limits]\n\(key) = -1") == ["limits.\(key): must be a positive integer"])
            #expect(errors("[limits]\n\(key) = \"10\"") == ["limits.\(key): must be an integer"])
        }

        /// read_timeout_ms = 0 turns the between-reads limit off; a route may override the
        /// upstream timeouts under the same names.
        @Test func readTimeoutZeroAndRouteTimeouts() throws {
            #expect(errors("[limits]\nread_timeout_ms = 0\ntunnel_idle_timeout_ms = 500") == [])
            #expect(errors("[limits]\nread_timeout_ms = -1") == ["limits.read_timeout_ms: must be 0 (none) or more"])
            let route = "[[route]]\nupstream = \"http://a\"\n"
            #expect(errors(route + "connect_timeout_ms = 100\nresponse_timeout_ms = 200\nread_timeout_ms = 0\ntunnel_idle_timeout_ms = 400") == [])
            #expect(errors(route + "response_timeout_ms = 0") == ["route[0].response_timeout_ms: must be a positive integer"])
            #expect(errors(route + "read_timeout_ms = -5") == ["route[0].read_timeout_ms: must be 0 (none) or more"])
            #expect(errors(route + "body_timeout_ms = 5") == ["route[0].body_timeout_ms: unknown key"])
        }

        @Test func headersWithUnderscoresValues() {
            for v in ["drop", "reject", "allow"] { #expect(errors("[server]\nheaders_with_underscores = \"\(v)\"") == []) }
            #expect(errors("[server]\nheaders_with_underscores = \"keep\"") == ["server.headers_with_underscores: must be \"drop\", \"reject\" or \"allow\""])
        }

        /// Replayed bodies live in the head buffer: 0 (bodyless requests only) to 64 KiB.
        @Test func replayBodyBytesRange() {
            #expect(errors("[limits]\nreplay_body_bytes = 0") == [])
            #expect(errors("[limits]\nreplay_body_bytes = 65536") == [])
            #expect(errors("[limits]\nreplay_body_bytes = 65537") == ["limits.replay_body_bytes: must be between 0 and 65536"])
            #expect(errors("[limits]\nreplay_body_bytes = -1") == ["limits.replay_body_bytes: must be between 0 and 65536"])
        }

        /// HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: 100 unless set, at most 2^31-1.
        @Test func maxConcurrentStreamsRange() throws {
            #expect(try #require(parse("").config).limits.maxConcurrentStreams == 100)
            #expect(try #require(parse("[limits]\nmax_concurrent_streams = 8").config).limits.maxConcurrentStreams == 8)
            #expect(errors("[limits]\nmax_concurrent_streams = 2147483648") == ["limits.max_concurrent_streams: must be at most 2147483647"])
        }

        @Test func maxRequestsPerConnectionAllowsZero() {
            #expect(errors("[limits]\nmax_requests_per_connection = 0") == [])
            #expect(errors("[limits]\nmax_requests_per_connection = -1") == ["limits.max_requests_per_connection: must be 0 (unlimited) or more"])
        }

        @Test func wrongTypeMessage() {
            #expect(errors("[limits]\nmax_body_bytes = \"10MB\"") == ["limits.max_body_bytes: must be an integer"])
        }

        /// The idle upstream pool cap: 256 by default (the pool's old built-in cap), 0 allowed
        /// (no keep-alive to upstreams), negative or non-integer refused with the key path.
        @Test func upstreamIdleConnections() throws {
            #expect(try #require(parse("").config).limits.upstreamIdleConnections == 256)
            #expect(LimitsConfig.defaults.upstreamIdleConnections == 256)
            #expect(try #require(parse("[limits]\nupstream_idle_connections = 2").config).limits.upstreamIdleConnections == 2)
            #expect(try #require(parse("[limits]\nupstream_idle_connections = 0").config).limits.upstreamIdleConnections == 0)
            #expect(errors("[limits]\nupstream_idle_connections = -1")
                == ["limits.upstream_idle_connections: must be 0 (no keep-alive to upstreams) or more"])
            #expect(errors("[limits]\nupstream_idle_connections = \"64\"") == ["limits.upstream_idle_connections: must be an integer"])
            #expect(errors("[limits]\nupstream_idle_connections = 1.5") == ["limits.upstream_idle_connections: must be an integer"])
        }

        @Test func maxUpstreamConnectionsPerRoute() throws {
            let route = "[[route]]\nupstream = \"http://a:1\"\n"
            #expect(try #require(parse(route).config).routes[0].maxUpstreamConnections == 0)
            #expect(try #require(parse(route + "max_upstream_connections = 8").config).routes[0].maxUpstreamConnections == 8)
            #expect(errors(route + "max_upstream_connections = -1") == ["route[0].max_upstream_connections: must be 0 (no limit) or more"])
            #expect(errors(route + "max_upstream_connections = \"8\"") == ["route[0].max_upstream_connections: must be an integer"])
        }
    }

    @Suite struct ConfigLoaderUnknownKeyTests {
        @Test func unknownKeysEverywhere() {
            #expect(errors("servr = 1") == ["servr: unknown key; did you mean \"server\"?"])
            #expect(errors("[servr]\nlisten = \":80\"") == ["servr: unknown key; did you mean \"server\"?"])
            #expect(errors("[server]\nlisen = \":80\"") == ["server.lisen: unknown key; did you mean \"listen\"?"])
            #expect(errors("[limits]\nmax_body = 1") == ["limits.max_body: unknown key"])
            #expect(errors(credential.replacingOccurrences(of: "client_id", with: "clientid") + "")
                .contains("credential.logto.clientid: unknown key; did you mean \"client_id\"?"))
            let toml = credential + """
                [[route]]
                upstream = "http://a"
                [[route]]
                uptream = "http://b"
                """
            #expect(errors(toml) == ["route[1].upstream: is required", "route[1].uptream: unknown key; did you mean \"upstream\"?"])
        }

        /// Unknown keys and credential sections come sorted by their bytes, not in file order:
        /// the order TOMLKit's sorted map gave, kept when TOMLParser (file order) replaced it.
        @Test func keysAndCredentialsAreSortedNotInFileOrder() throws {
            #expect(errors("[server]\nzz = 1\nlisten = \":80\"\nZZ = 2\naa = 3\n[[route]]\nupstream = \"http://a\"\n")
                == ["server.ZZ: unknown key", "server.aa: unknown key", "server.zz: unknown key"])
            // Credential sections: their problems in name order (`credentialsAreSortedByNameAndIndexed`
            // checks the loaded order and the routes' indexes).
            let two = "[credential.zeta]\ntoken_url = \"http://t/token\"\nclient_secret = \"z\"\n"
                + "[credential.alpha]\ntoken_url = \"http://t/token\"\nclient_secret = \"a\"\n"
                + "[[route]]\nupstream = \"http://a\"\ncredential = \"zeta\"\n[[route]]\npath_prefix = \"/b\"\nupstream = \"http://b\"\ncredential = \"alpha\"\n"
            #expect(errors(two)
                == ["credential.alpha.client_id: is required (or client_id_file)", "credential.zeta.client_id: is required (or client_id_file)"])
        }

        /// Issue 16: the hint comes from the keys valid at that path (route keys for a route,
        /// server keys under [server]), routes are named by name and index.
        @Test func unknownKeyNamesTheNearestValidKeyAndTheRoute() {
            let toml = credential + """
                [[route]]
                name = "shopping"
                upsteam = "http://a"
                credential = "logto"
                """
            #expect(errors(toml) == [
                "route \"shopping\" (route[0]).upstream: is required",
                "route \"shopping\" (route[0]).upsteam: unknown key; did you mean \"upstream\"?",
            ])
            // A swap of two letters and a missing underscore are typos too; an unrelated key is not.
            #expect(errors(route("upstream = \"http://a\"\npath_perfix = \"/a\""))
                == ["route[0].path_perfix: unknown key; did you mean \"path_prefix\"?"])
            #expect(errors(route("upstream = \"http://a\"\npreservehost = true"))
                == ["route[0].preservehost: unknown key; did you mean \"preserve_host\"?"])
            #expect(errors(route("upstream = \"http://a\"\ncolour = 1")) == ["route[0].colour: unknown key"])
            // Keys of another section are not offered: `listen` is a server key.
            #expect(errors(route("upstream = \"http://a\"\nlisten = 1")) == ["route[0].listen: unknown key"])
        }

        /// Issue 16: a route with errors uses no credential as far as the decoder knows, so
        /// "not used by any route" would be false; usage warnings wait for a file without errors.
        @Test func noUsageWarningsWhenTheFileHasErrors() {
            let broken = credential + "[[route]]\nupsteam = \"http://a\"\ncredential = \"logto\"\n"
            let result = parse(broken)
            #expect(result.errors.count == 2)
            #expect(result.warnings.isEmpty, "\(result.warnings)")
            // Without errors the warning is true and shown.
            #expect(warnings(credential + "[[route]]\nupstream = \"http://a\"\n") == ["credential.logto: not used by any route"])
        }

        @Test func unknownKeysAreSortedAndAllReported() {
            #expect(errors("[server]\nb = 1\na = 2") == ["server.a: unknown key", "server.b: unknown key"])
        }
    }

    @Suite struct ConfigLoaderEnvironmentTests {
        @Test func expandsEveryStringIncludingArrays() throws {
            let toml = """
                [server]
                listen = ["${ADDR}", ":${PORT:-9090}"]
                [credential.logto]
                token_url = "http://${LOGTO_HOST}/oidc/token"
                client_id = "${APP_ID}"
                client_secret = "${APP_SECRET}"
                [[route]]
                host = "${HOST:-shop.internal}"
                upstream = "${UPSTREAM_URL}"
                credential = "logto"
                scopes = ["${SCOPE}", "b"]
                """
            let env = [
                "ADDR": "127.0.0.1:8000", "LOGTO_HOST": "logto:3001", "APP_ID": "id", "APP_SECRET": "sec",
                "UPSTREAM_URL": "http://api/v2", "SCOPE": "read:all",
            ]
            let result = parse(toml, env: env)
            #expect(result.errors == [])
            let config = try #require(result.config)
            #expect(config.server.listen.map(\.description) == ["127.0.0.1:8000", "0.0.0.0:9090"])
            #expect(config.credentials[0].tokenURL.authority == "logto:3001")
            #expect(config.credentials[0].clientID == "id")
            #expect(config.credentials[0].clientSecret.value == "sec")
            #expect(config.routes[0].host == .exact("shop.internal"))
            #expect(config.routes[0].upstream.path == "/v2")
            #expect(config.routes[0].scopes == ["read:all", "b"])
        }

        @Test func missingVariableNamesTheKey() {
            #expect(errors(route("upstream = \"${UPSTREAM_URL}\"")) == ["route[0].upstream: environment variable UPSTREAM_URL is not set"])
            #expect(errors(route("upstream = \"http://a\"\nscopes = [\"a\", \"${S}\"]\ncredential = \"logto\""))
                == ["route[0].scopes[1]: environment variable S is not set"])
            #expect(errors("[server]\nlisten = \"${L}\"") == ["server.listen: environment variable L is not set"])
        }

        @Test func literalDollarInSecretSurvives() throws {
            let toml = credential.replacingOccurrences(of: "\"app-secret\"", with: "\"pa$$w$rd\"")
                + "[[route]]\nupstream = \"http://a\"\ncredential = \"logto\""
            #expect(try #require(parse(toml).config).credentials[0].clientSecret.value == "pa$$w$rd")
        }
    }

    @Suite struct ConfigLoaderCredentialTests {
        private func credentialErrors(_ body: String, env: [String: String] = [:]) -> [String] {
            errors("[credential.c]\n" + body + "\n[[route]]\nupstream = \"http://a\"\ncredential = \"c\"", env: env)
        }
        private let valid = "token_url = \"http://t/token\"\nclient_id = \"id\"\nclient_secret = \"s\"\n"

        @Test func requiredKeys() {
            #expect(credentialErrors("") == [
                "credential.c.token_url: is required",
                "credential.c.client_id: is required (or client_id_file)",
                "credential.c.client_secret: is required (or client_secret_file)",
            ])
        }

        @Test func httpsTokenURLIsAccepted() throws {
            let toml = "[credential.c]\n" + valid.replacingOccurrences(of: "http://", with: "https://")
                + "[[route]]\nupstream = \"http://a\"\ncredential = \"c\""
            let config = try #require(parse(toml).config)
            #expect(config.credentials[0].tokenURL.scheme == .https)
            #expect(config.credentials[0].tokenURL.port == 443)
            #expect(config.credentials[0].tls == .standard)
        }

        @Test func tokenURLErrors() {
            #expect(credentialErrors(valid.replacingOccurrences(of: "http://t/token", with: "ftp://t"))
                == ["credential.c.token_url: scheme must be http or https"])
            #expect(credentialErrors(valid.replacingOccurrences(of: "http://t/token", with: ""))
                == ["credential.c.token_url: must not be empty"])
            #expect(credentialErrors(valid.replacingOccurrences(of: "http://t/token", with: "http://u:p@t/token"))
                == ["credential.c.token_url: must not contain user info (user:password@)"])
        }

        @Test func exactlyOneSecretSource() {
            #expect(credentialErrors(valid + "client_secret_file = \"/x\"")
                == ["credential.c: set only one of client_secret and client_secret_file"])
            #expect(credentialErrors(valid + "client_id_file = \"/x\"")
                == ["credential.c: set only one of client_id and client_id_file"])
            #expect(credentialErrors(valid.replacingOccurrences(of: "\"s\"", with: "\"\""))
                == ["credential.c.client_secret: must not be empty"])
        }

        @Test func authMethod() {
            #expect(credentialErrors(valid + "auth_method = \"basic\"")
                == ["credential.c.auth_method: must be client_secret_basic or client_secret_post"])
            #expect(credentialErrors(valid + "prefetch = \"yes\"") == ["credential.c.prefetch: must be true or false"])
        }

        @Test func secretAndIDFromFiles() throws {
            let directory = try ConfigTestSupport.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let secretFile = directory.appendingPathComponent("secret")
            let idFile = directory.appendingPathComponent("id")
            try ConfigTestSupport.write("file-secret\n", to: secretFile)
            try ConfigTestSupport.write("file-id\r\n", to: idFile)
            let toml = """
                [credential.c]
                token_url = "http://t/token"
                client_id_file = "${SECRETS}/id"
                client_secret_file = "\(secretFile.path)"
                [[route]]
                upstream = "http://a"
                credential = "c"
                """
            let result = parse(toml, env: ["SECRETS": directory.path])
            #expect(result.errors == [])
            let config = try #require(result.config)
            #expect(config.credentials[0].clientID == "file-id")
            #expect(config.credentials[0].clientSecret.value == "file-secret")
        }

        @Test func unreadableSecretFileNamesKeyAndReason() {
            #expect(credentialErrors("token_url = \"http://t\"\nclient_id = \"i\"\nclient_secret_file = \"/nonexistent/s\"")
                == ["credential.c.client_secret_file: cannot read '/nonexistent/s': No such file or directory"])
        }

        @Test func emptySecretFile() throws {
            let directory = try ConfigTestSupport.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("empty")
            try ConfigTestSupport.write("\n", to: file)
            #expect(credentialErrors("token_url = \"http://t\"\nclient_id = \"i\"\nclient_secret_file = \"\(file.path)\"")
                == ["credential.c.client_secret_file: file '\(file.path)' is empty"])
        }

        @Test func tlsCAFileOnHTTPIsAWarning() {
            #expect(warnings("[credential.c]\n" + valid + "tls_ca_file = \"/ca.pem\"\n[[route]]\nupstream = \"http://a\"\ncredential = \"c\"")
                == ["credential.c.tls_ca_file: has no effect for an http token_url"])
        }

        @Test func unusedCredentialIsAWarning() {
            #expect(warnings("[credential.c]\n" + valid + "[[route]]\nupstream = \"http://a\"")
                == ["credential.c: not used by any route"])
        }

        @Test func credentialsAreSortedByNameAndIndexed() throws {
            let toml = """
                [credential.zeta]
                token_url = "http://z/token"
                client_id = "z"
                client_secret = "z"
                [credential.alpha]
                token_url = "http://a/token"
                client_id = "a"
                client_secret = "a"
                [[route]]
                upstream = "http://u"
                credential = "zeta"
                [[route]]
                path_prefix = "/a"
                upstream = "http://u"
                credential = "alpha"
                """
            let config = try #require(parse(toml).config)
            #expect(config.credentials.map(\.name) == ["alpha", "zeta"])
            #expect(config.routes.map(\.credentialIndex) == [1, 0])
        }

        @Test func credentialMustBeATable() {
            #expect(errors("credential = \"logto\"") == ["credential: must be a table"])
            #expect(errors("[credential]\nlogto = 1") == ["credential.logto: must be a table"])
        }

        @Test func namesAreQuotedInKeyPathsWhenNotBare() {
            #expect(errors("[credential.\"my app\"]\n" + valid).first == "credential.\"my app\": credential name must not contain spaces or control characters")
        }
    }

    @Suite struct ConfigLoaderRouteTests {
        @Test func upstreamRules() throws {
            #expect(errors(route("")) == ["route[0].upstream: is required"])
            #expect(errors(route("upstream = \"ftp://a\"")) == ["route[0].upstream: scheme must be http, https or h2c"])
            #expect(errors(route("upstream = \"https://a\"")) == [])
            #expect(try #require(parse(route("upstream = \"https://a\"")).config).routes[0].tls == .standard)
            #expect(errors(route("upstream = \"http://a/?x=1\"")) == ["route[0].upstream: must not contain a query or fragment"])
            #expect(errors(route("upstream = \"http://:80\"")) == ["route[0].upstream: host is missing"])
            #expect(errors(route("upstream = 5")) == ["route[0].upstream: must be a string or an array of strings"])
        }

        @Test func upstreamBasePath() throws {
            #expect(try #require(parse(route("upstream = \"http://a/\"")).config).routes[0].upstream.path == "")
            #expect(try #require(parse(route("upstream = \"http://a/v1/\"")).config).routes[0].upstream.path == "/v1")
        }

        @Test func names() throws {
            let toml = route("name = \"r\"\nupstream = \"http://a\"") + "[[route]]\nname = \"r\"\npath_prefix = \"/x\"\nupstream = \"http://b\""
            #expect(errors(toml) == ["route \"r\" (route[1]).name: duplicate name \"r\" (also route[0])"])
            let clash = route("name = \"route1\"\nupstream = \"http://a\"") + "[[route]]\npath_prefix = \"/x\"\nupstream = \"http://b\""
            #expect(errors(clash) == ["route[1].name: duplicate name \"route1\" (also route[0])"])
            #expect(errors(route("name = \"\"\nupstream = \"http://a\"")) == ["route[0].name: must not be empty"])
            #expect(errors(route("name = \"a b\"\nupstream = \"http://a\"")) == ["route[0].name: must not contain spaces or control characters"])
            let config = try #require(parse(route("upstream = \"http://a\"") + "[[route]]\npath_prefix = \"/x\"\nupstream = \"http://b\"").config)
            #expect(config.routes.map(\.name) == ["route0", "route1"])
        }

        @Test(arguments: [
            ("shop.internal", HostMatch.exact("shop.internal")),
            ("SHOP.Internal", .exact("shop.internal")),
            ("*.example.com", .suffix(".example.com")),
            ("[::1]", .exact("[::1]")),
        ])
        func hostForms(host: String, expected: HostMatch) throws {
            let config = try #require(parse(route("host = \"\(host)\"\nupstream = \"http://a\"")).config)
            #expect(config.routes[0].host == expected)
        }

        @Test func hostErrors() {
            #expect(errors(route("host = \"shop.internal:8080\"\nupstream = \"http://a\""))
                == ["route[0].host: host must not contain a port (the port is ignored when matching)"])
            #expect(errors(route("host = \"\"\nupstream = \"http://a\""))
                == ["route[0].host: must not be empty (omit host to match any host)"])
            #expect(errors(route("host = [\"a\"]\nupstream = \"http://a\"")) == ["route[0].host: must be a string"])
        }

        @Test(arguments: [("/", "/"), ("/api", "/api"), ("/api/", "/api"), ("/api//", "/api"), ("//", "/"), ("/a/b/", "/a/b")])
        func pathPrefixNormalisation(written: String, expected: String) throws {
            let config = try #require(parse(route("path_prefix = \"\(written)\"\nupstream = \"http://a\"")).config)
            #expect(config.routes[0].pathPrefix == expected)
        }

        @Test func pathPrefixErrors() {
            #expect(errors(route("path_prefix = \"api\"\nupstream = \"http://a\"")) == ["route[0].path_prefix: must start with \"/\""])
            #expect(errors(route("path_prefix = \"\"\nupstream = \"http://a\"")) == ["route[0].path_prefix: must start with \"/\""])
            #expect(errors(route("path_prefix = \"/a?b\"\nupstream = \"http://a\"")) == ["route[0].path_prefix: must not contain a query or fragment"])
            #expect(errors(route("path_prefix = \"/a b\"\nupstream = \"http://a\"")) == ["route[0].path_prefix: must not contain spaces or control characters"])
        }

        @Test func methods() throws {
            #expect(try #require(parse(route("methods = [\"get\", \"Post\"]\nupstream = \"http://a\"")).config).routes[0].methods == ["GET", "POST"])
            #expect(errors(route("methods = []\nupstream = \"http://a\"")) == ["route[0].methods: must not be empty (omit methods to match any method)"])
            #expect(errors(route("methods = [\"GET\", \"\"]\nupstream = \"http://a\"")) == ["route[0].methods[1]: must be an HTTP method name like GET"])
            #expect(errors(route("methods = [\"GE T\"]\nupstream = \"http://a\"")) == ["route[0].methods[0]: must be an HTTP method name like GET"])
            #expect(errors(route("methods = \"GET\"\nupstream = \"http://a\"")) == ["route[0].methods: must be an array of strings"])
            // A token llhttp does not know used to abort the proxy when routes were compiled.
            #expect(errors(route("methods = [\"GET\", \"foo\"]\nupstream = \"http://a\"")) == ["route[0].methods[1]: unknown HTTP method \"FOO\" (llhttp refuses it, so no request could match)"])
            #expect(errors(route("methods = [\"DESCRIBE\"]\nupstream = \"http://a\"")).count == 1)
            #expect(try #require(parse(route("methods = [\"purge\", \"QUERY\"]\nupstream = \"http://a\"")).config).routes[0].methods == ["PURGE", "QUERY"])
        }

        @Test func credentialReference() {
            #expect(errors(route("upstream = \"http://a\"\ncredential = \"logtoo\""))
                == ["route[0].credential: no credential named \"logtoo\" (expected a [credential.logtoo] section)"])
        }

        @Test func credentialOptionsWithoutCredentialWarn() {
            let result = parse(route("upstream = \"http://a\"\nresource = \"https://api\"\nscopes = [\"a\"]\norganization_id = \"o\""))
            #expect(result.errors == [])
            #expect(result.warnings.map(\.description) == [
                "route[0].resource: has no effect without credential",
                "route[0].scopes: has no effect without credential",
                "route[0].organization_id: has no effect without credential",
                "credential.logto: not used by any route",
            ])
        }

        @Test func scopes() {
            let base = "upstream = \"http://a\"\ncredential = \"logto\"\n"
            #expect(errors(route(base + "scopes = [\"read write\"]")) == ["route[0].scopes[0]: must not contain spaces (list each scope separately)"])
            #expect(errors(route(base + "scopes = [\"ok\", \"\"]")) == ["route[0].scopes[1]: must not be empty"])
            #expect(errors(route(base + "scopes = [\"a\\\"b\"]"))
                == ["route[0].scopes[0]: must not contain quotes, backslashes, control or non-ASCII characters (RFC 6749 §3.3)"])
            #expect(errors(route(base + "scopes = [1]")) == ["route[0].scopes[0]: must be a string"])
            #expect(errors(route(base + "scopes = []")) == [])
        }

        @Test func resource() {
            let base = "upstream = \"http://a\"\ncredential = \"logto\"\n"
            #expect(errors(route(base + "resource = \"shopping\"")) == ["route[0].resource: must be an absolute URI (RFC 8707), e.g. https://api.example.com"])
            #expect(errors(route(base + "resource = \"https://a#b\"")) == ["route[0].resource: must not contain a fragment (RFC 8707)"])
            #expect(errors(route(base + "resource = \"\"")) == ["route[0].resource: must not be empty"])
            #expect(errors(route(base + "resource = \"urn:logto:api\"")) == [])
        }

        @Test func otherTypes() {
            #expect(errors(route("upstream = \"http://a\"\npreserve_host = 1")) == ["route[0].preserve_host: must be true or false"])
            #expect(errors(route("upstream = \"http://a\"\norganization_id = \"\"")) == ["route[0].organization_id: must not be empty"])
            #expect(warnings(route("upstream = \"http://a\"\ncredential = \"logto\"\ntls_ca_file = \"/ca\""))
                == ["route[0].tls_ca_file: has no effect for an http upstream"])
        }

        @Test func routeMustBeAnArrayOfTables() {
            #expect(errors("[route]\nupstream = \"http://a\"") == ["route: must be an array of tables ([[route]])"])
            #expect(errors("route = [1]") == ["route[0]: must be a table ([[route]])"])
        }

        @Test func shadowedRouteWarning() {
            let toml = """
                [[route]]
                name = "all-api"
                path_prefix = "/api"
                upstream = "http://a"
                [[route]]
                path_prefix = "/api/v1"
                methods = ["GET"]
                upstream = "http://b"
                """
            #expect(warnings(toml) == ["route[1]: never matches: shadowed by route[0] (\"all-api\")"])
        }

        @Test func indexesCountEveryRouteInFileOrder() {
            let toml = """
                [[route]]
                upstream = "http://a"
                [[route]]
                path_prefix = "/b"
                upstream = "http://b"
                [[route]]
                path_prefix = "/c"
                upstream = "ftp://c"
                """
            #expect(errors(toml) == ["route[2].upstream: scheme must be http, https or h2c"])
        }
    }

    @Suite struct ConfigLoaderSecretTests {
        /// Secrets must never end up in a problem message, whatever else is wrong.
        @Test func secretsNeverAppearInProblems() throws {
            let secret = "Sup3r-S3cret-Value"
            let directory = try ConfigTestSupport.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("secret")
            try ConfigTestSupport.write(secret + "\n", to: file)

            let variants = [
                // inline, everything else wrong
                "[credential.a]\ntoken_url = \"ftp://x\"\nclient_id = \"\(secret)\"\nclient_secret = \"\(secret)\"\nauth_method = \"\(secret)\"\nbogus = \"\(secret)\"",
                // from the environment
                "[credential.a]\ntoken_url = \"https://x\"\nclient_id = \"i\"\nclient_secret = \"${SECRET}\"\nclient_secret_file = \"\(file.path)\"",
                // from a file, wrong elsewhere
                "[credential.a]\ntoken_url = \"http://u:${SECRET}@x\"\nclient_id = \"i\"\nclient_secret_file = \"\(file.path)\"",
                // malformed references in a secret
                "[credential.a]\ntoken_url = \"http://x\"\nclient_id = \"i\"\nclient_secret = \"\(secret)${\"",
                "[credential.a]\ntoken_url = \"http://x\"\nclient_id = \"i\"\nclient_secret = \"\(secret)${1}\"",
                // a secret pasted where a URL belongs
                "[[route]]\nupstream = \"http://user:\(secret)@host\"\nhost = \"\(secret):1\"\nresource = \"\(secret)\"\nscopes = [\"\(secret) x\"]",
                // syntax error right after a secret
                "[credential.a]\nclient_secret = \"\(secret)\" x",
                // a secret left unquoted: read as a number, a date-time, or a bare word
                "[credential.a]\nclient_secret = 9\(secret)",
                "[credential.a]\nclient_secret = 1979-02-29\(secret)",
                "[credential.a]\nclient_secret = \(secret)",
            ]
            for toml in variants {
                let result = parse(toml, env: ["SECRET": secret])
                #expect(!result.errors.isEmpty, "\(toml)")
                for problem in result.errors + result.warnings {
                    #expect(!problem.description.contains(secret), "leaked in: \(problem.description)")
                    #expect(!problem.description.contains("Sup3r"), "leaked in: \(problem.description)")
                }
            }
        }

        @Test func secretIsRedactedWhenPrinted() throws {
            let config = try #require(parse(route("upstream = \"http://a\"\ncredential = \"logto\"")).config)
            #expect("\(config.credentials[0].clientSecret)" == "<redacted>")
            #expect(!String(describing: config.credentials[0]).contains("app-secret"))
        }
    }

    @Suite struct ConfigLoaderFileTests {
        @Test func missingFile() {
            let result = ConfigLoader.load(path: "/nonexistent/proxy.conf", environment: [:])
            #expect(result.config == nil)
            #expect(result.errors.map(\.description) == ["cannot read config file '/nonexistent/proxy.conf': No such file or directory"])
        }

        @Test func syntaxErrorNamesFileAndLine() throws {
            let directory = try ConfigTestSupport.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("proxy.conf")
            try ConfigTestSupport.write("[server]\nlisten = \n", to: file)
            let result = ConfigLoader.load(path: file.path, environment: [:])
            #expect(result.config == nil)
            #expect(result.errors.count == 1)
            #expect(result.errors.first?.keyPath == file.path)
            #expect(result.errors.first?.message.hasPrefix("line 2, column") == true)
        }

        @Test func syntaxErrorFromText() {
            let result = parse("[[route]\n")
            #expect(result.errors.count == 1)
            #expect(result.errors.first?.keyPath == "")
            #expect(result.errors.first?.message.hasPrefix("line 1, column") == true)
            #expect(parse("a = 1\na = 2").errors.count == 1)
        }

        /// A NUL is a syntax error like any control character (TOMLKit needed a separate check:
        /// it cut the text at the first NUL).
        @Test func nulByteIsRejected() {
            #expect(errors("[server]\n\0listen = 1") == ["line 2, column 1: expected a key, found control character U+0000"])
            #expect(errors("a = \"x\0y\"").first?.hasPrefix("line 1, column 7: control character U+0000") == true)
        }

        @Test func loadsAValidFile() throws {
            let directory = try ConfigTestSupport.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("proxy.conf")
            try ConfigTestSupport.write("[[route]]\nupstream = \"http://a\"\n", to: file)
            let result = ConfigLoader.load(path: file.path, environment: [:])
            #expect(result.errors == [])
            #expect(result.config?.routes.count == 1)
        }

        /// The example at the repository root, found from this file's path.
        static var examplePath: String {
            // Tests/M2MProxyTests/Config/ConfigLoaderTests.swift → repository root
            var root = URL(fileURLWithPath: #filePath)
            for _ in 0..<4 { root.deleteLastPathComponent() }
            return root.appendingPathComponent("proxy.conf.example").path
        }

        @Test func exampleFileParses() throws {
            let example = Self.examplePath
            let env = ["LOGTO_APP_ID": "app-id", "LOGTO_APP_SECRET": "app-secret"]
            let result = ConfigLoader.load(path: example, environment: env)
            #expect(result.errors == [])
            #expect(result.warnings == [])
            let config = try #require(result.config)
            #expect(config.routes.map(\.name) == ["shopping", "logto-management"])
            let management = config.routes[1]
            #expect(management.host == .exact("logto-admin.internal"))
            #expect(management.resource == "https://default.logto.app/api")
            #expect(management.scopes == ["all"])
            #expect(management.upstream.path == "/api")
            #expect(config.credentials.map(\.name) == ["logto"])

            // Without the variables it names them.
            let missing = ConfigLoader.load(path: example, environment: [:]).errors.map(\.description)
            #expect(missing == [
                "credential.logto.client_id: environment variable LOGTO_APP_ID is not set",
                "credential.logto.client_secret: environment variable LOGTO_APP_SECRET is not set",
            ])
        }
    }

    @Suite struct ConfigLoaderRobustnessTests {
        /// "Never crashes on bad input": prefixes of the example (cut mid-key, mid-string, mid-table)
        /// and single-byte corruptions with characters that matter to TOML either load or yield
        /// problems. (A 60k-case random mutation run once found two toml++ aborts, before
        /// TOMLParser replaced it; this keeps a fast sample of it.)
        @Test func truncatedAndCorruptedExampleNeverCrashes() throws {
            let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: ConfigLoaderFileTests.examplePath)))
            let env = ["LOGTO_APP_ID": "id", "LOGTO_APP_SECRET": "secret"]
            var failures = 0
            for end in stride(from: 0, through: bytes.count, by: 4) {
                let result = ConfigLoader.parse(text: String(decoding: bytes[..<end], as: UTF8.self), environment: env)
                if (result.config == nil) != !result.errors.isEmpty { failures += 1 }
            }
            let replacements: [UInt8] = Array("\"'[]{}=,.$:\n# \\x0".utf8)
            for position in stride(from: 0, to: bytes.count, by: 4) {
                var corrupted = bytes
                corrupted[position] = replacements[(position / 4) % replacements.count]
                let result = ConfigLoader.parse(text: String(decoding: corrupted, as: UTF8.self), environment: env)
                if (result.config == nil) != !result.errors.isEmpty { failures += 1 }
            }
            #expect(failures == 0)
        }
    }
}
