import Testing
@testable import M2MProxy

extension Auth {
    @Suite struct TokenResponseTests {
        private func parse(_ text: String) -> Result<TokenResponse, TokenResponseError> {
            TokenResponse.parse(Array(text.utf8))
        }

        @Test func logtoAnswer() throws {
            let response = try parse(
                #"{"access_token":"eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ4In0.c2ln","expires_in":3600,"token_type":"Bearer","scope":"read:products write:products"}"#
            ).get()
            #expect(response.accessToken.value == "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ4In0.c2ln")
            #expect(response.expiresIn == 3600)
            #expect(response.tokenType == "Bearer")
            #expect(response.scope == "read:products write:products")
        }

        @Test func logtoOrganizationAnswerKeepsEmptyScope() throws {
            let response = try parse(#"{"access_token":"t","expires_in":3600,"token_type":"Bearer","scope":""}"#).get()
            #expect(response.scope == "")
        }

        @Test func glewlwydLowercaseBearer() throws {
            let response = try parse(
                #"{"access_token":"eyJ0eXAiOiJhdCtqd3QifQ.e30.c2ln","token_type":"bearer","expires_in":5,"scope":"read:products"}"#
            ).get()
            #expect(response.tokenType == "bearer")
            #expect(response.expiresIn == 5)
        }

        @Test func tokenTypeIsCaseInsensitiveAndOptional() throws {
            #expect(try parse(#"{"access_token":"t","token_type":"BEARER"}"#).get().tokenType == "BEARER")
            #expect(try parse(#"{"access_token":"t"}"#).get().tokenType == "Bearer")
            #expect(try parse(#"{"access_token":"t","token_type":null}"#).get().tokenType == "Bearer")
        }

        @Test func unsupportedTokenType() {
            #expect(parse(#"{"access_token":"t","token_type":"mac"}"#) == .failure(.unsupportedTokenType("mac")))
            #expect(parse(#"{"access_token":"t","token_type":"DPoP"}"#) == .failure(.unsupportedTokenType("DPoP")))
            #expect(parse(#"{"access_token":"t","token_type":"x\r\ny"}"#) == .failure(.unsupportedTokenType("xy")))
            #expect(parse(#"{"access_token":"t","token_type":1}"#) == .failure(.unsupportedTokenType("(not a string)")))
        }

        @Test func expiresInForms() throws {
            #expect(try parse(#"{"access_token":"t","expires_in":"3600"}"#).get().expiresIn == 3600)
            #expect(try parse(#"{"access_token":"t","expires_in":" 60 "}"#).get().expiresIn == 60)
            #expect(try parse(#"{"access_token":"t","expires_in":299.9}"#).get().expiresIn == 299)
            #expect(try parse(#"{"access_token":"t","expires_in":"299.9"}"#).get().expiresIn == 299)
            #expect(try parse(#"{"access_token":"t","expires_in":1e3}"#).get().expiresIn == 1000)
        }

        @Test func expiresInUnknown() throws {
            for value in ["0", "-5", "0.5", "\"0\"", "\"-1\"", "\"abc\"", "\"\"", "\"0x10\"", "\"inf\"", "null", "true", "[]"] {
                let response = try parse(#"{"access_token":"t","expires_in":"# + value + "}").get()
                #expect(response.expiresIn == nil, "expires_in \(value)")
            }
            #expect(try parse(#"{"access_token":"t","token_type":"Bearer"}"#).get().expiresIn == nil)
        }

        @Test func hugeExpiresInIsClamped() throws {
            #expect(try parse(#"{"access_token":"t","expires_in":1e300}"#).get().expiresIn == TokenResponse.maxExpiresIn)
            #expect(try parse(#"{"access_token":"t","expires_in":"99999999999999999999999"}"#).get().expiresIn
                == TokenResponse.maxExpiresIn)
        }

        @Test func notJSON() {
            #expect(TokenResponse.parse([]) == .failure(.notJSON))
            #expect(parse("<html><body>502 Bad Gateway</body></html>") == .failure(.notJSON))
            #expect(parse(#"["access_token"]"#) == .failure(.notJSON))
            #expect(parse(#""access_token""#) == .failure(.notJSON))
            #expect(parse(#"{"access_token":"t""#) == .failure(.notJSON))
            #expect(parse("access_token=t&token_type=bearer") == .failure(.notJSON))
        }

        @Test func noAccessToken() {
            #expect(parse("{}") == .failure(.noAccessToken))
            #expect(parse(#"{"access_token":""}"#) == .failure(.noAccessToken))
            #expect(parse(#"{"access_token":null}"#) == .failure(.noAccessToken))
            #expect(parse(#"{"error":"invalid_client"}"#) == .failure(.noAccessToken))
        }

        @Test func invalidAccessToken() {
            for token in [#"a\r\nX-Evil: 1"#, #"a\nb"#, "a b", #"a\tb"#, #"a\u0000b"#, "é", #"a\u007f"#] {
                #expect(parse(#"{"access_token":""# + token + #""}"#) == .failure(.invalidAccessToken), "\(token)")
            }
            #expect(parse(#"{"access_token":123}"#) == .failure(.invalidAccessToken))
            #expect(parse(#"{"access_token":["t"]}"#) == .failure(.invalidAccessToken))
        }

        @Test func descriptionsAreFixedAndNeverHoldTheToken() {
            #expect(TokenResponseError.notJSON.description == "token endpoint answer is not a JSON object")
            #expect(TokenResponseError.noAccessToken.description == "token endpoint answer has no access_token")
            #expect(TokenResponseError.invalidAccessToken.description == "token endpoint answer has an unusable access_token")
            #expect(TokenResponseError.unsupportedTokenType("mac").description
                == "token endpoint answer has unsupported token_type mac")
            let response = try? parse(#"{"access_token":"top-secret"}"#).get()
            #expect(response.map { "\($0)" }?.contains("top-secret") == false)
        }

        @Test func unsupportedTokenTypeIsSanitizedAndCapped() {
            let long = String(repeating: "x", count: 100)
            #expect(parse(#"{"access_token":"t","token_type":""# + long + #""}"#)
                == .failure(.unsupportedTokenType(String(repeating: "x", count: 40))))
        }
    }
}
