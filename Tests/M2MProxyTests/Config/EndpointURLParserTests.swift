import Testing
@testable import M2MProxy

extension ConfigTests {
    @Suite struct EndpointURLParserTests {
        func upstream(_ text: String) -> Result<EndpointURL, ConfigValueError> {
            EndpointURLParser.parse(text, kind: .upstream)
        }

        func message(_ result: Result<EndpointURL, ConfigValueError>) -> String? {
            if case .failure(let error) = result { return error.message }
            return nil
        }

        @Test func httpWithDefaultPort() throws {
            let url = try upstream("HTTP://Shopping-API/v1/").get()
            #expect(url == EndpointURL(scheme: .http, host: "shopping-api", port: 80, path: "/v1", authority: "shopping-api"))
        }

        @Test func explicitPortInAuthorityOnlyWhenNotDefault() throws {
            #expect(try upstream("http://api:8080").get().authority == "api:8080")
            #expect(try upstream("http://api:80").get().authority == "api")
            #expect(try upstream("https://api:443").get().authority == "api")
            #expect(try upstream("https://api").get().port == 443)
            #expect(try upstream("https://api:80").get().authority == "api:80")
        }

        @Test func ipv6Literal() throws {
            let url = try upstream("http://[::1]:8080/x").get()
            #expect(url.host == "::1")
            #expect(url.port == 8080)
            #expect(url.authority == "[::1]:8080")
            #expect(try upstream("http://[FE80:0:0::1]").get().authority == "[fe80::1]")
        }

        @Test func upstreamPathIsABasePath() throws {
            #expect(try upstream("http://api").get().path == "")
            #expect(try upstream("http://api/").get().path == "")
            #expect(try upstream("http://api/v1/").get().path == "/v1")
            #expect(try upstream("http://api/a/b").get().path == "/a/b")
        }

        @Test func tokenPathIsAtLeastSlash() throws {
            #expect(try EndpointURLParser.parse("http://logto", kind: .tokenEndpoint).get().path == "/")
            #expect(try EndpointURLParser.parse("http://logto/oidc/token", kind: .tokenEndpoint).get().path == "/oidc/token")
        }

        @Test func errors() {
            #expect(message(upstream("ftp://api")) == "scheme must be http, https or h2c")
            #expect(message(EndpointURLParser.parse("h2c://logto/token", kind: .tokenEndpoint)) == "scheme must be http or https (token endpoints speak HTTP/1.1)")
            #expect(message(upstream("api:8080")) == "must be an absolute URL like http://host[:port][/path]")
            #expect(message(upstream("http://api/x?y=1")) == "must not contain a query or fragment")
            #expect(message(upstream("http://api/x#f")) == "must not contain a query or fragment")
            #expect(message(upstream("http://user:pw@api")) == "must not contain user info (user:password@)")
            #expect(message(upstream("http://")) == "host is missing")
            #expect(message(upstream("http://:80")) == "host is missing")
            #expect(message(upstream("http://api:0")) == "port must be 1-65535")
            #expect(message(upstream("http://api:65536")) == "port must be 1-65535")
            #expect(message(upstream("http://api:")) == "port must be 1-65535")
            #expect(message(upstream("http://api:8o")) == "port must be 1-65535")
            #expect(message(upstream("http://::1/")) == "invalid host (an IPv6 address must be in brackets)")
            #expect(message(upstream("http://[::1/")) == "IPv6 address is missing its closing ']'")
            #expect(message(upstream("http://[zz::1]/")) == "invalid IPv6 address")
            #expect(message(upstream("http://a b/")) == "invalid host")
            #expect(message(upstream("http://api/a b")) == "path must not contain spaces or control characters")
        }

        @Test func messagesNeverEchoTheURL() {
            let result = upstream("http://user:hunter2@api")
            #expect(message(result)?.contains("hunter2") == false)
        }
    }
}
