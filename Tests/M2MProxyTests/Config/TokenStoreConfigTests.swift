import Foundation
import Testing
@testable import M2MProxy

extension ConfigTests {
    /// `[token_store]` (DESIGN.md §3): the three URL forms, secrets inline or from a file, and
    /// every problem named by its key path.
    @Suite struct TokenStoreConfigTests {
        private static func config(_ section: String) -> ConfigLoadResult {
            ConfigTestSupport.parse(ConfigTestSupport.credential + "[token_store]\n" + section)
        }

        private static func errors(_ section: String) -> [String] { config(section).errors.map(\.description) }

        @Test func urlForms() throws {
            #expect(StoreURLParser.parse("redis://valkey/3") == .success(.init(mode: .standalone, endpoints: [.init(host: "valkey", port: 6379)], database: 3)))
            #expect(StoreURLParser.parse("rediss://h:6380") == .success(.init(mode: .tls, endpoints: [.init(host: "h", port: 6380)], database: 0)))
            #expect(StoreURLParser.parse("redis://[::1]:7000/0") == .success(.init(mode: .standalone, endpoints: [.init(host: "::1", port: 7000)], database: 0)))
            #expect(StoreURLParser.parse("redis-sentinel://s1,s2:26380/mymaster/2") == .success(.init(
                mode: .sentinel(masterName: "mymaster"), endpoints: [.init(host: "s1", port: 26379), .init(host: "s2", port: 26380)], database: 2)))
        }

        @Test func badURLsAreNamed() {
            #expect(Self.errors("url = \"http://x\"") == ["token_store.url: scheme must be redis, rediss or redis-sentinel"])
            #expect(Self.errors("url = \"redis://u:pw@x\"") == ["token_store.url: must not contain user info: set username and password (or password_file) instead"])
            #expect(Self.errors("url = \"redis://a,b\"") == ["token_store.url: several hosts are only for redis-sentinel:// (the sentinels)"])
            #expect(Self.errors("url = \"redis-sentinel://s1\"").first?.contains("needs the primary's name") == true)
            #expect(Self.errors("url = \"redis://x/zero\"") == ["token_store.url: database must be a number (/0)"])
            #expect(Self.errors("url = \"redis://x:0\"") == ["token_store.url: port must be 1-65535"])
            #expect(Self.errors("username = \"u\"") == ["token_store.url: is required"])
        }

        @Test func keysAndDefaults() throws {
            let c = try #require(Self.config("url = \"redis://127.0.0.1:6379/1\"\nusername = \"proxy\"\npassword = \"pw\"\nkey_prefix = \"a:\"\ntimeout_ms = 250\n").config?.tokenStore)
            #expect(c.username == "proxy" && c.password?.value == "pw" && c.keyPrefix == "a:" && c.timeoutMs == 250 && c.database == 1)
            let d = try #require(Self.config("url = \"redis://h\"\n").config?.tokenStore)
            #expect(d.keyPrefix == "m2m-proxy:" && d.timeoutMs == 500 && d.password == nil)
            #expect(ConfigTestSupport.parse(ConfigTestSupport.credential).config?.tokenStore == nil)
        }

        @Test func secretsAndFilesAreChecked() throws {
            #expect(Self.errors("url = \"redis://h\"\nusername = \"u\"\n") == ["token_store.password: is required with username (or password_file)"])
            #expect(Self.errors("url = \"redis://h\"\npassword_file = \"/nonexistent/pw\"\n").first?.hasPrefix("token_store.password_file: cannot read '/nonexistent/pw'") == true)
            #expect(Self.errors("url = \"redis://h\"\ntimeout_ms = 0\n") == ["token_store.timeout_ms: must be between 1 and 60000"])
            #expect(Self.errors("url = \"redis://h\"\ntls_ca_file = \"/x.pem\"\n").isEmpty)
            #expect(Self.errors("url = \"rediss://h\"\ntls_ca_file = \"/nonexistent.pem\"\n").first?.hasPrefix("token_store.tls_ca_file: cannot read") == true)
            #expect(Self.errors("url = \"redis://h\"\npasword = \"x\"\n") == ["token_store.pasword: unknown key; did you mean \"password\"?"])
            let dir = try ConfigTestSupport.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let file = dir.appendingPathComponent("pw")
            try ConfigTestSupport.write("from-file\n", to: file)
            let c = try #require(Self.config("url = \"redis://h\"\npassword_file = \"\(file.path)\"\n").config?.tokenStore)
            #expect(c.password?.value == "from-file")
        }

        /// The store is made once at start: a reload keeps it and says so.
        @Test func reloadKeepsTheStore() throws {
            let a = try #require(Self.config("url = \"redis://h/0\"\n").config)
            let b = try #require(Self.config("url = \"redis://h/1\"\n").config)
            let (effective, notes) = a.applyingReload(b)
            #expect(effective.tokenStore?.database == 0)
            #expect(notes == ["token_store changed: takes effect at the next restart"])
        }
    }
}
