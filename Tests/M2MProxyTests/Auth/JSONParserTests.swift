import Testing
@testable import M2MProxy

extension Auth {
    @Suite struct JSONParserTests {
        @Test func parsesAllValueKinds() throws {
            let value = try JSONParser.parse(#" { "a" : [1, -2.5e2, true, false, null, "x", {}, []] } "#)
            #expect(value == .object(["a": .array([
                .number(1), .number(-250), .bool(true), .bool(false), .null, .string("x"), .object([:]), .array([]),
            ])]))
        }

        @Test func parsesScalarsAtTopLevel() throws {
            #expect(try JSONParser.parse("0") == .number(0))
            #expect(try JSONParser.parse("\"s\"") == .string("s"))
            #expect(try JSONParser.parse(" null\n") == .null)
        }

        @Test func decodesEscapes() throws {
            let value = try JSONParser.parse(#""\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC""#)
            #expect(value == .string("\"\\/\u{08}\u{0C}\n\r\tAé€"))
        }

        @Test func decodesSurrogatePairs() throws {
            #expect(try JSONParser.parse(#""\uD83D\uDE00""#) == .string("😀"))
            #expect(try JSONParser.parse("\"😀 raw\"") == .string("😀 raw"))
        }

        @Test(arguments: [
            #""\uD83D""#, #""\uDE00""#, #""\uD83D\u0041""#, #""\uD83Dx""#, #""\u12G4""#, #""\x""#,
        ])
        func rejectsBadEscapes(_ text: String) {
            #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        }

        @Test(arguments: [
            "", " ", "{", "[1,]", "{\"a\":1,}", "01", "-", "1.", ".5", "1e", "+1", "NaN", "Infinity",
            "tru", "nul", "{a:1}", "{'a':1}", "[1 2]", "1 2", "\"abc", "\"a\u{01}b\"", "\"tab\there\"",
            "// c\n1", "{\"a\":1}x", "1e999", "{\"a\":1,\"a\":2}", "\u{FEFF}{}", "<html></html>",
        ])
        func rejectsInvalidDocuments(_ text: String) {
            #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        }

        @Test func rejectsInvalidUTF8() {
            #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
            #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }
        }

        @Test func numbersFollowTheGrammar() throws {
            #expect(try JSONParser.parse("-0") == .number(-0.0))
            #expect(try JSONParser.parse("3600") == .number(3600))
            #expect(try JSONParser.parse("1.5E+3") == .number(1500))
            #expect(try JSONParser.parse("2e-1") == .number(0.2))
        }

        @Test func enforcesDepthLimit() throws {
            let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
            #expect(throws: Never.self) { try JSONParser.parse(ok) }
            let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
            #expect(throws: JSONParseError(message: "nesting too deep", offset: 64)) { try JSONParser.parse(deep) }
            let deepObject = String(repeating: "{\"a\":", count: 3) + "1" + String(repeating: "}", count: 3)
            #expect(throws: JSONParseError.self) { try JSONParser.parse(deepObject, maxDepth: 2) }
        }

        @Test func acceptsOtherByteCollections() throws {
            let body = Array("[1,2,3]".utf8)
            #expect(try JSONParser.parse(body[1...1]) == .number(1))
            let value = try body.withUnsafeBytes { buffer throws(JSONParseError) in try JSONParser.parse(buffer) }
            #expect(value == .array([.number(1), .number(2), .number(3)]))
        }

        @Test func errorsDoNotQuoteInput() {
            do {
                _ = try JSONParser.parse("{\"access_token\":\"secret-token\" x}")
                Issue.record("expected a throw")
            } catch {
                #expect(!error.description.contains("secret-token"))
                #expect(error.message == "expected ',' or '}'")
            }
        }

        @Test func accessors() throws {
            let value = try JSONParser.parse(#"{"s":"x","n":1,"b":true,"a":[],"z":null}"#)
            #expect(value["s"]?.stringValue == "x")
            #expect(value["n"]?.numberValue == 1)
            #expect(value["b"]?.boolValue == true)
            #expect(value["a"]?.arrayValue == [])
            #expect(value["z"]?.isNull == true)
            #expect(value["missing"] == nil)
            #expect(JSONValue.string("x")["s"] == nil)
        }
    }
}
