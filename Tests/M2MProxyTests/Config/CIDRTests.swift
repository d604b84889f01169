import Testing
@testable import M2MProxy

@Suite struct CIDRTests {
    private func ip(_ s: String) -> IPAddress { IPAddress.parse(s)! }

    @Test func ipv4Prefixes() throws {
        let c = try #require(CIDR.parse("10.0.0.0/8"))
        #expect(c.contains(ip("10.1.2.3")))
        #expect(!c.contains(ip("11.0.0.1")))
        #expect(try #require(CIDR.parse("192.168.1.5")).contains(ip("192.168.1.5")))
        #expect(!(try #require(CIDR.parse("192.168.1.5"))).contains(ip("192.168.1.6")))
        #expect(try #require(CIDR.parse("0.0.0.0/0")).contains(ip("8.8.8.8")))
    }

    @Test func ipv6PrefixesAndMappedIPv4() throws {
        let c = try #require(CIDR.parse("fd00::/8"))
        #expect(c.contains(ip("fd12:3456::1")))
        #expect(!c.contains(ip("fe80::1")))
        #expect(try #require(CIDR.parse("::1")).contains(ip("::1")))
        #expect(try #require(CIDR.parse("2001:db8::/96")).contains(ip("2001:db8::ffff:1")))
        // An IPv4 peer on a [::] listener is reported as ::ffff:a.b.c.d: it is IPv4.
        #expect(try #require(CIDR.parse("127.0.0.0/8")).contains(ip("::ffff:127.0.0.1")))
        #expect(!(try #require(CIDR.parse("::/0"))).contains(ip("127.0.0.1")))
    }

    @Test(arguments: ["10.0.0.0/33", "::/129", "abc", "10.0.0.0/", "/8", "1.2.3.4/-1", "10.0.0.0/8/9"])
    func invalid(_ text: String) {
        #expect(CIDR.parse(text) == nil)
    }

    @Test func description() {
        #expect(CIDR.parse("10.1.2.3/8")?.description == "10.0.0.0/8")
        #expect(CIDR.parse("fd00::1/8")?.description == "fd00::/8")
    }

    @Test func configKeysAndExposureWarning() {
        let base = """
            [credential.c]
            token_url = "http://idp/token"
            client_id = "a"
            client_secret = "b"
            [[route]]
            upstream = "http://api"
            credential = "c"
            """
        let open = ConfigLoader.parse(text: "[server]\nlisten = \"0.0.0.0:8080\"\nadmin_listen = \"\"\n" + base, environment: [:])
        #expect(open.errors.isEmpty)
        #expect(open.warnings.contains { $0.keyPath == "route[0]" && $0.message.contains("no allow_cidrs") })
        let closed = ConfigLoader.parse(text: "[server]\nlisten = \"0.0.0.0:8080\"\nadmin_listen = \"\"\nallow_cidrs = [\"10.0.0.0/8\"]\ntrusted_proxies = [\"10.0.0.1\"]\n" + base, environment: [:])
        #expect(closed.errors.isEmpty)
        #expect(!closed.warnings.contains { $0.message.contains("no allow_cidrs") })
        #expect(closed.config?.server.allowCIDRs?.first?.description == "10.0.0.0/8")
        #expect(closed.config?.server.trustedProxies.count == 1)
        let loopback = ConfigLoader.parse(text: "[server]\nlisten = \"127.0.0.1:8080\"\nadmin_listen = \"\"\n" + base, environment: [:])
        #expect(!loopback.warnings.contains { $0.message.contains("no allow_cidrs") })
        let bad = ConfigLoader.parse(text: "[server]\nallow_cidrs = [\"10.0.0.0/40\"]\n" + base, environment: [:])
        #expect(bad.errors.map(\.keyPath) == ["server.allow_cidrs[0]"])
        let route = ConfigLoader.parse(text: base + "\nallow_cidrs = [\"nope\"]", environment: [:])
        #expect(route.errors.map(\.keyPath) == ["route[0].allow_cidrs[0]"])
    }
}
