import Testing
@testable import M2MProxy

extension ConfigTests {
    @Suite struct HostMatchParserTests {
        func parse(_ text: String) -> Result<HostMatch, ConfigValueError> {
            HostMatchParser.parse(text)
        }

        @Test func exactIsLowercased() {
            #expect(parse("Shop.Internal") == .success(.exact("shop.internal")))
            #expect(parse("10.0.0.1") == .success(.exact("10.0.0.1")))
        }

        @Test func wildcardBecomesSuffix() {
            #expect(parse("*.Example.com") == .success(.suffix(".example.com")))
        }

        @Test func ipv6KeepsBrackets() {
            #expect(parse("[::1]") == .success(.exact("[::1]")))
            #expect(parse("[0:0::1]") == .success(.exact("[::1]")))
        }

        @Test(arguments: [
            ("shop.internal:8080", "host must not contain a port (the port is ignored when matching)"),
            ("[::1]:8080", "host must not contain a port (the port is ignored when matching)"),
            ("::1", "an IPv6 address must be in brackets, e.g. [::1]"),
            ("", "must not be empty (omit host to match any host)"),
            ("*", "'*' is only allowed as the first label, e.g. *.example.com"),
            ("a.*.com", "'*' is only allowed as the first label, e.g. *.example.com"),
            ("*.", "invalid host name after '*.'"),
            ("*.a b", "invalid host name after '*.'"),
            ("shop internal", "invalid host name"),
            ("[::1]x", "invalid host name"),
            ("shop/x", "invalid host name"),
        ])
        func rejected(text: String, message: String) {
            #expect(parse(text) == .failure(ConfigValueError(message)))
        }
    }
}
