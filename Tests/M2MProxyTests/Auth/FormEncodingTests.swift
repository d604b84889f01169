import Testing
@testable import M2MProxy

extension Auth {
    @Suite struct FormEncodingTests {
        @Test func unreservedPassThrough() {
            #expect(FormEncoding.encode("AZaz09-._~") == "AZaz09-._~")
            #expect(FormEncoding.encode("") == "")
        }

        @Test func reservedAreEncoded() {
            #expect(FormEncoding.encode("a+b%c:d e") == "a%2Bb%25c%3Ad%20e")
            #expect(FormEncoding.encode("https://api.example.com/v1?x=1&y") == "https%3A%2F%2Fapi.example.com%2Fv1%3Fx%3D1%26y")
            #expect(FormEncoding.encode("read:products write:products") == "read%3Aproducts%20write%3Aproducts")
        }

        @Test func utf8IsEncodedUppercase() {
            #expect(FormEncoding.encode("é€") == "%C3%A9%E2%82%AC")
            #expect(FormEncoding.encode("\n\u{7F}") == "%0A%7F")
        }

        @Test func pairs() {
            #expect(FormEncoding.encode([("grant_type", "client_credentials"), ("scope", "a b")])
                == "grant_type=client_credentials&scope=a%20b")
        }
    }
}
