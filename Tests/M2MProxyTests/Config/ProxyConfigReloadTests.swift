import Testing
@testable import M2MProxy

extension ConfigTests {
    /// `ProxyConfig.applyingReload`: what a SIGHUP changes and what waits for a restart.
    @Suite struct ProxyConfigReloadTests {
        private func config(_ toml: String) throws -> ProxyConfig {
            try #require(ConfigTestSupport.parse(toml + "\n[[route]]\nname = \"r\"\nupstream = \"http://api:8080\"\n").config)
        }

        @Test func reloadableKeysTakeTheNewValue() throws {
            let old = try config("[limits]\nbody_timeout_ms = 1000\nupstream_idle_connections = 4\n[server]\ndrain_timeout_ms = 100")
            let new = try config("[limits]\nbody_timeout_ms = 2000\nupstream_idle_connections = 8\n[server]\ndrain_timeout_ms = 200")
            let (effective, notes) = old.applyingReload(new)
            #expect(notes.isEmpty)
            #expect(effective.limits.bodyTimeoutMs == 2000)
            #expect(effective.limits.upstreamIdleConnections == 8)
            #expect(effective.server.drainTimeoutMs == 200)
        }

        @Test func restartOnlyKeysKeepTheRunningValueWithANote() throws {
            let old = try config("[server]\nlisten = \"127.0.0.1:9000\"\nworkers = 1\nadmin_listen = \"127.0.0.1:9001\"\n[limits]\nmax_header_bytes = 8192\nmax_body_bytes = 10")
            let new = try config("[server]\nlisten = \"127.0.0.1:9100\"\nworkers = 2\nadmin_listen = \"127.0.0.1:9101\"\n[limits]\nmax_header_bytes = 16384\nmax_body_bytes = 20")
            let (effective, notes) = old.applyingReload(new)
            #expect(effective.server.listen == old.server.listen)
            #expect(effective.server.workers == 1)
            #expect(effective.server.adminListen == old.server.adminListen)
            #expect(effective.limits.maxHeaderBytes == 8192)
            // Its neighbours in [limits] still reload.
            #expect(effective.limits.maxBodyBytes == 20)
            #expect(notes == [
                "server.listen changed: takes effect at the next restart",
                "server.admin_listen changed: takes effect at the next restart",
                "server.workers changed: takes effect at the next restart",
                "limits.max_header_bytes changed: takes effect at the next restart",
            ])
        }
    }
}
