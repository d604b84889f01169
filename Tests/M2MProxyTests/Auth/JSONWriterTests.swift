import Testing
@testable import M2MProxy

extension Auth {
    @Suite struct JSONWriterTests {
        @Test func escapesStrings() {
            #expect(jsonEscaped("plain") == "plain")
            #expect(jsonEscaped("a\"b\\c") == #"a\"b\\c"#)
            #expect(jsonEscaped("l1\nl2\r\t") == #"l1\nl2\r\t"#)
            #expect(jsonEscaped("\u{01}\u{1F}\u{7F}") == #"\u0001\u001f\u007f"#)
            #expect(jsonEscaped("é€😀") == "é€😀")
        }

        @Test func writesSortedCompactJSON() {
            let value = JSONValue.object([
                "status": .number(503), "error": .string("no token: \"x\""), "ok": .bool(false),
                "list": .array([.null, .number(1.5)]),
            ])
            #expect(JSONWriter.write(value) == #"{"error":"no token: \"x\"","list":[null,1.5],"ok":false,"status":503}"#)
        }

        @Test func roundTrips() throws {
            let text = #"{"a":[1,2.25,"\n\u0001😀"],"b":{"c":null,"d":true}}"#
            let value = try JSONParser.parse(text)
            #expect(try JSONParser.parse(JSONWriter.write(value)) == value)
        }
    }
}
