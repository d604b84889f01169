import Foundation
import Testing
@testable import M2MProxy

/// The `tls_*` keys of routes, credentials and `[server]`, with real PEM files made by the
/// openssl CLI (the loader loads them exactly as a worker will).
extension ConfigTests {
    @Suite struct ConfigLoaderTLSTests {
        /// A CA, a certificate + key it signed, and a key that belongs to nothing.
        final class PEMFiles {
            let dir: URL
            var ca: String { dir.appendingPathComponent("ca.pem").path }
            var cert: String { dir.appendingPathComponent("cert.pem").path }
            var key: String { dir.appendingPathComponent("cert.key").path }
            var otherKey: String { dir.appendingPathComponent("other.key").path }
            var garbage: String { dir.appendingPathComponent("garbage.pem").path }

            init() throws {
                dir = try ConfigTestSupport.makeTemporaryDirectory()
                let d = dir.path
                try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                  "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem", "-subj", "/CN=unit CA", "-days", "2"])
                try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                  "-keyout", "\(d)/cert.key", "-out", "\(d)/cert.pem", "-subj", "/CN=localhost", "-days", "2"])
                try Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "\(d)/other.key"])
                try ConfigTestSupport.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", to: URL(fileURLWithPath: garbage))
            }

            deinit { try? FileManager.default.removeItem(at: dir) }

            static func openssl(_ args: [String]) throws {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
                p.arguments = args
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                p.waitUntilExit()
                guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
            }
        }

        private func routeTOML(_ upstream: String, _ keys: String) -> String {
            "[[route]]\nupstream = \"\(upstream)\"\n" + keys
        }

        private func credentialTOML(_ tokenURL: String, _ keys: String) -> String {
            "[credential.c]\ntoken_url = \"\(tokenURL)\"\nclient_id = \"i\"\nclient_secret = \"s\"\n" + keys
                + "[[route]]\nupstream = \"http://a\"\ncredential = \"c\"\n"
        }

        @Test func routeKeysAreParsed() throws {
            let pem = try PEMFiles()
            let toml = routeTOML("https://api.internal", "tls_ca_file = \"\(pem.ca)\"\ntls_cert_file = \"\(pem.cert)\"\ntls_key_file = \"\(pem.key)\"\n")
            let result = ConfigTestSupport.parse(toml)
            #expect(result.errors.isEmpty, "\(result.errors)")
            let tls = try #require(result.config).routes[0].tls
            #expect(tls == TLSClientSettings(caFile: pem.ca, certFile: pem.cert, keyFile: pem.key, insecureSkipVerify: false))
        }

        @Test func credentialKeysAreParsed() throws {
            let pem = try PEMFiles()
            let toml = credentialTOML("https://tenant.logto.app/oidc/token", "tls_ca_file = \"\(pem.ca)\"\ntls_cert_file = \"\(pem.cert)\"\ntls_key_file = \"\(pem.key)\"\n")
            let result = ConfigTestSupport.parse(toml)
            #expect(result.errors.isEmpty, "\(result.errors)")
            let c = try #require(result.config).credentials[0]
            #expect(c.tls.caFile == pem.ca && c.tls.certFile == pem.cert && c.tls.keyFile == pem.key)
            #expect(c.tlsCAFile == pem.ca)
        }

        @Test func certAndKeyComeTogether() throws {
            let pem = try PEMFiles()
            #expect(ConfigTestSupport.errors(routeTOML("https://a", "tls_cert_file = \"\(pem.cert)\"\n"))
                == ["route[0].tls_key_file: is required with tls_cert_file (a client certificate needs both)"])
            #expect(ConfigTestSupport.errors(credentialTOML("https://t/token", "tls_key_file = \"\(pem.key)\"\n"))
                == ["credential.c.tls_cert_file: is required with tls_key_file (a client certificate needs both)"])
        }

        @Test func unreadableOrBadFilesAreErrorsNamingTheKey() throws {
            let pem = try PEMFiles()
            let missing = pem.dir.appendingPathComponent("nope.pem").path
            #expect(ConfigTestSupport.errors(routeTOML("https://a", "tls_ca_file = \"\(missing)\"\n"))
                == ["route[0].tls_ca_file: cannot read '\(missing)': No such file or directory"])
            let garbage = ConfigTestSupport.errors(routeTOML("https://a", "tls_ca_file = \"\(pem.garbage)\"\n"))
            #expect(garbage.count == 1 && garbage[0].hasPrefix("route[0].tls_ca_file: cannot load CA file '\(pem.garbage)'"), "\(garbage)")
            #expect(ConfigTestSupport.errors(credentialTOML("https://t/token", "tls_cert_file = \"\(pem.cert)\"\ntls_key_file = \"\(pem.otherKey)\"\n"))
                == ["credential.c.tls_key_file: cannot load key file '\(pem.otherKey)': key values mismatch"])
            let badCert = ConfigTestSupport.errors(routeTOML("https://a", "tls_cert_file = \"\(pem.key)\"\ntls_key_file = \"\(pem.key)\"\n"))
            #expect(badCert.count == 1 && badCert[0].hasPrefix("route[0].tls_cert_file: cannot load certificate file"), "\(badCert)")
        }

        @Test func insecureSkipVerifyWarns() throws {
            let result = ConfigTestSupport.parse(routeTOML("https://a", "tls_insecure_skip_verify = true\n"))
            #expect(result.errors.isEmpty)
            #expect(try #require(result.config).routes[0].tls.insecureSkipVerify)
            #expect(result.warnings.map(\.description).contains {
                $0.hasPrefix("route[0].tls_insecure_skip_verify: certificates and host names are not verified")
            })
            #expect(ConfigTestSupport.errors(routeTOML("https://a", "tls_insecure_skip_verify = \"yes\"\n"))
                == ["route[0].tls_insecure_skip_verify: must be true or false"])
        }

        @Test func tlsKeysOnHTTPAreWarnings() {
            #expect(ConfigTestSupport.warnings(routeTOML("http://a", "tls_insecure_skip_verify = true\ntls_ca_file = \"/x\"\n"))
                == ["route[0].tls_ca_file: has no effect for an http upstream",
                    "route[0].tls_insecure_skip_verify: has no effect for an http upstream"])
        }

        @Test func tlsListener() throws {
            let pem = try PEMFiles()
            let ok = ConfigTestSupport.parse(
                "[server]\nlisten = \"127.0.0.1:8080\"\ntls_listen = [\"127.0.0.1:8443\", \"[::1]:8443\"]\ntls_cert_file = \"\(pem.cert)\"\ntls_key_file = \"\(pem.key)\"\n")
            #expect(ok.errors.isEmpty, "\(ok.errors)")
            let server = try #require(ok.config).server
            #expect(server.tlsListen == [ListenAddress(host: "127.0.0.1", port: 8443), ListenAddress(host: "::1", port: 8443)])
            #expect(server.tls == TLSServerSettings(certFile: pem.cert, keyFile: pem.key))

            let single = try #require(ConfigTestSupport.parse(
                "[server]\ntls_listen = \"127.0.0.1:8443\"\ntls_cert_file = \"\(pem.cert)\"\ntls_key_file = \"\(pem.key)\"\n").config)
            #expect(single.server.tlsListen == [ListenAddress(host: "127.0.0.1", port: 8443)])

            #expect(ConfigTestSupport.errors("[server]\ntls_listen = \"127.0.0.1:8443\"\n")
                == ["server.tls_cert_file: is required with tls_listen", "server.tls_key_file: is required with tls_listen"])
            #expect(ConfigTestSupport.errors(
                "[server]\nlisten = \"127.0.0.1:8443\"\ntls_listen = \"127.0.0.1:8443\"\ntls_cert_file = \"\(pem.cert)\"\ntls_key_file = \"\(pem.key)\"\n")
                == ["server.tls_listen: same address as server.listen[0]"])
            #expect(ConfigTestSupport.errors(
                "[server]\ntls_listen = \"127.0.0.1:8443\"\ntls_cert_file = \"\(pem.cert)\"\ntls_key_file = \"\(pem.otherKey)\"\n")
                == ["server.tls_key_file: cannot load key file '\(pem.otherKey)': key values mismatch"])
            #expect(ConfigTestSupport.warnings("[server]\ntls_cert_file = \"\(pem.cert)\"\n").contains(
                "server.tls_cert_file: has no effect without tls_listen"))
            let defaults = try #require(ConfigTestSupport.parse("").config).server
            #expect(defaults.tlsListen.isEmpty && defaults.tls == nil)
        }
    }
}
