import Testing
@testable import M2MProxy

/// The token store's cryptography: HKDF against RFC 5869's first test vector, AES-256-GCM round
/// trip, and every kind of tampering refused.
@Suite struct StoreCipherTests {
    private static func unhex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    @Test func hkdfMatchesRFC5869TestCase1() {
        let okm = StoreCipher.hkdf(
            secret: [UInt8](repeating: 0x0b, count: 22), salt: Self.unhex("000102030405060708090a0b0c"),
            info: Self.unhex("f0f1f2f3f4f5f6f7f8f9"))
        #expect(okm == Self.unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"))
    }

    @Test func sealThenOpen() throws {
        let key = StoreCipher.randomBytes(32)
        let sealed = try #require(StoreCipher.seal(key: key, plaintext: Array("the token".utf8), aad: Array("k".utf8)))
        #expect(sealed.count == 1 + 12 + 9 + 16)
        #expect(StoreCipher.open(key: key, sealed: sealed, aad: Array("k".utf8)) == Array("the token".utf8))
        // A fresh nonce every time: equal plaintexts do not give equal values.
        #expect(StoreCipher.seal(key: key, plaintext: Array("the token".utf8), aad: Array("k".utf8)) != sealed)
    }

    @Test func everyTamperingIsRefused() throws {
        let key = StoreCipher.randomBytes(32)
        let sealed = try #require(StoreCipher.seal(key: key, plaintext: Array("abcdef".utf8), aad: Array("k".utf8)))
        for i in sealed.indices {
            var bad = sealed
            bad[i] ^= 0x01
            #expect(StoreCipher.open(key: key, sealed: bad, aad: Array("k".utf8)) == nil, "byte \(i) flipped")
        }
        #expect(StoreCipher.open(key: key, sealed: Array(sealed.dropLast()), aad: Array("k".utf8)) == nil)
        #expect(StoreCipher.open(key: key, sealed: sealed, aad: Array("other".utf8)) == nil)
        #expect(StoreCipher.open(key: StoreCipher.randomBytes(32), sealed: sealed, aad: Array("k".utf8)) == nil)
        #expect(StoreCipher.open(key: key, sealed: [], aad: []) == nil)
    }
}
