import Testing
@testable import M2MProxy

extension Auth {
    @Suite struct JWTClaimsTests {
        /// An unsigned compact JWS around `payload`, base64url without padding as JWTs are.
        static func jwt(_ payload: String) -> String {
            func url(_ text: String) -> String {
                String(Base64.encode(Array(text.utf8)).compactMap { character -> Character? in
                    switch character {
                    case "+": "-"
                    case "/": "_"
                    case "=": nil
                    default: character
                    }
                })
            }
            return url(#"{"alg":"RS256","typ":"at+jwt"}"#) + "." + url(payload) + ".c2ln"
        }

        @Test func audienceArray() throws {
            // Made with Python's json + base64.urlsafe_b64encode, padding stripped.
            let token = "eyJhbGciOiJFUzM4NCIsInR5cCI6ImF0K2p3dCJ9.eyJqdGkiOiJ4Iiwic3ViIjoiYXBwMSIsImlhdCI6MTc5NTQwNzAxNywiZXhwIjoxNzk1NDA3MDI3LCJzY29wZSI6InJlYWQ6cHJvZHVjdHMgd3JpdGU6cHJvZHVjdHMiLCJjbGllbnRfaWQiOiJhcHAxIiwiYXVkIjpbImh0dHBzOi8vYS5leGFtcGxlIiwiaHR0cHM6Ly9iLmV4YW1wbGUiXX0.c2ln"
            let claims = try #require(JWTClaims.decode(token))
            #expect(claims.audiences == ["https://a.example", "https://b.example"])
            #expect(claims.exp == 1_795_407_027)
            #expect(claims.iat == 1_795_407_017)
            #expect(claims.scope == "read:products write:products")
            #expect(claims.subject == "app1")
        }

        @Test func glewlwydShape() throws {
            let claims = try #require(JWTClaims.decode(Self.jwt(
                #"{"iss":"http://127.0.0.1:19110/api/oidc","aud":"https://shopping.api","client_id":"m2m-client","sub":"m2m-client","iat":1795407017,"exp":1795407027,"nbf":1795407017,"jti":"J","type":"access_token","scope":"read:products write:products"}"#)))
            #expect(claims.audiences == ["https://shopping.api"])
            #expect(claims.exp == 1_795_407_027)
            #expect(claims.subject == "m2m-client")
        }

        @Test func missingAndOddClaims() throws {
            let claims = try #require(JWTClaims.decode(Self.jwt(#"{"exp":1700000000.9,"aud":[1,"x"],"scope":7}"#)))
            #expect(claims.exp == 1_700_000_000)
            #expect(claims.iat == nil)
            #expect(claims.audiences == ["x"])
            #expect(claims.scope == nil)
            #expect(claims.subject == nil)
            let empty = try #require(JWTClaims.decode(Self.jwt("{}")))
            #expect(empty == JWTClaims(exp: nil, iat: nil, audiences: [], scope: nil, subject: nil))
            #expect(try #require(JWTClaims.decode(Self.jwt(#"{"exp":"1700000000"}"#))).exp == nil)
            #expect(try #require(JWTClaims.decode(Self.jwt(#"{"exp":1e300}"#))).exp == nil)
        }

        @Test func opaqueAndMalformedTokens() {
            #expect(JWTClaims.decode("2YotnFZFEjr1zCsicMWpAA") == nil)
            #expect(JWTClaims.decode("") == nil)
            #expect(JWTClaims.decode("a.b") == nil)
            #expect(JWTClaims.decode("a.b.c.d.e") == nil)  // JWE
            #expect(JWTClaims.decode("..") == nil)
            #expect(JWTClaims.decode("eyJhbGciOiJub25lIn0.!!!.c2ln") == nil)
            #expect(JWTClaims.decode(Self.jwt("[1]")) == nil)
            #expect(JWTClaims.decode(Self.jwt("not json")) == nil)
        }

        @Test func unsignedJWTStillDecodes() throws {
            // alg "none" tokens have an empty signature segment; only the payload matters here.
            let token = String(Self.jwt(#"{"exp":5}"#).dropLast(4))
            #expect(try #require(JWTClaims.decode(token)).exp == 5)
        }
    }
}
