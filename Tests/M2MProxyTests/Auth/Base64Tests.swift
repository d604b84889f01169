import Testing
@testable import M2MProxy

extension Auth {
    @Suite struct Base64Tests {
        // RFC 4648 §10.
        static let vectors = [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
        ]

        @Test func encodesRFC4648Vectors() {
            for (plain, encoded) in Self.vectors {
                #expect(Base64.encode(Array(plain.utf8)) == encoded)
            }
        }

        @Test func encodesBinary() {
            #expect(Base64.encode([0xFB, 0xFF, 0xFE]) == "+//+")
            #expect(Base64.encode([0x00]) == "AA==")
        }

        @Test func decodesURLVectorsWithAndWithoutPadding() {
            for (plain, encoded) in Self.vectors {
                #expect(Base64.decodeURL(encoded) == Array(plain.utf8))
                let unpadded = encoded.filter { $0 != "=" }
                #expect(Base64.decodeURL(unpadded) == Array(plain.utf8))
            }
            #expect(Base64.decodeURL("-__-") == [0xFB, 0xFF, 0xFE])
        }

        @Test func rejectsInvalid() {
            #expect(Base64.decodeURL("+//+") == nil)  // standard alphabet is not base64url
            #expect(Base64.decodeURL("Zm9v!") == nil)
            #expect(Base64.decodeURL("Zm 9v") == nil)
            #expect(Base64.decodeURL("Z") == nil)  // 4n+1 symbols
            #expect(Base64.decodeURL("Zg=") == nil)  // incomplete padding
            #expect(Base64.decodeURL("Zg===") == nil)
            #expect(Base64.decodeURL("Zm9v=") == nil)
            #expect(Base64.decodeURL("Z=g=") == nil)
        }
    }
}
