import Testing
@testable import M2MProxy

extension Auth {
    @Suite struct OAuthErrorBodyTests {
        private func parse(_ text: String) -> (code: String, description: String?)? {
            OAuthErrorBody.parse(Array(text.utf8))
        }

        @Test func logtoError() throws {
            let error = try #require(parse(
                #"{"error":"invalid_client","error_description":"client authentication failed","code":"oidc.invalid_client","message":"client authentication failed"}"#))
            #expect(error.code == "invalid_client")
            #expect(error.description == "client authentication failed")
        }

        @Test func glewlwydErrorWithoutDescription() throws {
            let error = try #require(parse(#"{"error":"scope_invalid"}"#))
            #expect(error.code == "scope_invalid")
            #expect(error.description == nil)
        }

        @Test func tolerantOfNonErrorBodies() {
            #expect(OAuthErrorBody.parse([]) == nil)
            #expect(parse("<html>403 Forbidden</html>") == nil)
            #expect(parse("{}") == nil)
            #expect(parse(#"{"error":42}"#) == nil)
            #expect(parse(#"{"error":""}"#) == nil)
            #expect(parse(#"["error"]"#) == nil)
        }

        @Test func sanitizes() throws {
            let long = String(repeating: "d", count: 300)
            let error = try #require(parse(#"{"error":"bad\r\ncode\u0000é","error_description":""# + long + #""}"#))
            #expect(error.code == "badcode")
            #expect(error.description == String(repeating: "d", count: 200))
            let blank = try #require(parse(#"{"error":"x","error_description":"\n"}"#))
            #expect(blank.description == nil)
        }
    }
}
