import Testing
@testable import M2MProxy

extension ConfigTests {
    @Suite struct ListenAddressParserTests {
        func parse(_ text: String) -> Result<ListenAddress, ConfigValueError> {
            ListenAddressParser.parse(text)
        }

        @Test(arguments: [
            ("0.0.0.0:8080", "0.0.0.0", 8080),
            ("127.0.0.1:1", "127.0.0.1", 1),
            ("[::]:8080", "::", 8080),
            ("[::1]:65535", "::1", 65535),
            ("[0:0::1]:80", "::1", 80),
            ("localhost:8080", "127.0.0.1", 8080),
            ("LocalHost:9", "127.0.0.1", 9),
            (":8080", "0.0.0.0", 8080),
        ])
        func acceptedForms(text: String, host: String, port: Int) throws {
            #expect(try parse(text).get() == ListenAddress(host: host, port: UInt16(port)))
        }

        @Test(arguments: [
            ("127.0.0.1:0", "port must be 1-65535"),
            ("0.0.0.0:70000", "port must be 1-65535"),
            ("0.0.0.0:", "port must be 1-65535"),
            ("0.0.0.0", "must be host:port, e.g. 0.0.0.0:8080 or [::]:8080"),
            ("8080", "must be host:port, e.g. 0.0.0.0:8080 or [::]:8080"),
            ("::1:8080", "an IPv6 address must be in brackets, e.g. [::]:8080"),
            ("[::1]8080", "must be host:port, e.g. 0.0.0.0:8080 or [::]:8080"),
            ("[::1:8080", "IPv6 address is missing its closing ']'"),
            ("[nope]:8080", "invalid IPv6 address"),
            ("example.com:8080", "host must be an IP address or localhost"),
            ("300.0.0.1:8080", "host must be an IP address or localhost"),
        ])
        func rejectedForms(text: String, message: String) {
            #expect(parse(text) == .failure(ConfigValueError(message)))
        }

        @Test func descriptionBracketsIPv6() throws {
            #expect(try parse("[::]:8080").get().description == "[::]:8080")
            #expect(try parse(":8080").get().description == "0.0.0.0:8080")
        }
    }
}
