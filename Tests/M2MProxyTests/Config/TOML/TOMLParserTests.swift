import Testing
@testable import M2MProxy

extension ConfigTests {
    /// Values and errors of `TOMLParser`, with positions. The differential test against Python's
    /// tomllib (TOMLDifferentialTests) covers agreement on a much larger corpus; these pin down
    /// our own messages and columns.
    @Suite struct TOMLParserTests {
        static func parse(_ text: String) throws -> TOMLTable {
            try TOMLParser.parse(text)
        }

        static func failure(_ text: String) -> TOMLParseError? {
            do {
                _ = try TOMLParser.parse(text)
                return nil
            } catch {
                return error
            }
        }

        @Test func scalars() throws {
            let table = try Self.parse("""
                s = "a\\tb\\u00E9\\U0001F600\\"\\\\"
                l = 'C:\\path'
                i = -1_000
                h = 0xDEAD_beef
                o = 0o17
                b = 0b101
                f = 6.626e-34
                g = -0.0
                pinf = +inf
                ninf = -inf
                t = true
                d = 1979-05-27T07:32:00.999-07:00
                ld = 1979-05-27
                lt = 07:32:00
                sp = 1979-05-27 07:32:00Z
                max = 9223372036854775807
                min = -9223372036854775808
                """)
            #expect(table["s"] == .string("a\tb\u{E9}\u{1F600}\"\\"))
            #expect(table["l"] == .string("C:\\path"))
            #expect(table["i"] == .integer(-1000))
            #expect(table["h"] == .integer(0xDEAD_BEEF))
            #expect(table["o"] == .integer(15))
            #expect(table["b"] == .integer(5))
            #expect(table["f"] == .float(6.626e-34))
            #expect(table["g"]?.floatValue?.sign == .minus)
            #expect(table["pinf"] == .float(.infinity))
            #expect(table["ninf"] == .float(-.infinity))
            #expect(table["t"] == .boolean(true))
            #expect(table["d"] == .datetime("1979-05-27T07:32:00.999-07:00"))
            #expect(table["ld"] == .datetime("1979-05-27"))
            #expect(table["lt"] == .datetime("07:32:00"))
            #expect(table["sp"] == .datetime("1979-05-27 07:32:00Z"))
            #expect(table["max"] == .integer(.max))
            #expect(table["min"] == .integer(.min))
            #expect(try Self.parse("n = nan")["n"]?.floatValue?.isNaN == true)
        }

        @Test func multiLineStrings() throws {
            let table = try Self.parse("a = \"\"\"\none\\\n    two\nthree\"\"\"\"\nb = '''\r\nx\r\ny'''''\nc = \"\"\"\\ \t \n  z\"\"\"\n")
            #expect(table["a"] == .string("onetwo\nthree\""))
            #expect(table["b"] == .string("x\ny''"))
            #expect(table["c"] == .string("z"))
        }

        @Test func keysKeepFileOrder() throws {
            let table = try Self.parse("zeta = 1\nalpha = 2\n\"quoted key\" = 3\n'lit' = 4\na.b.c = 5\n[m]\n[b]\n")
            #expect(table.keys == ["zeta", "alpha", "quoted key", "lit", "a", "m", "b"])
            #expect(table["a"]?.table?["b"]?.table?["c"] == .integer(5))
        }

        @Test func tablesAndArrays() throws {
            let table = try Self.parse("""
                [server]
                listen = ["a", 'b',
                  # a comment
                  "c", ]
                [[route]]
                name = "one"
                [route.sub]
                x = 1
                [[route]]
                name = "two"
                inline = { a = 1, b.c = [1, "mixed", 2.5] }
                [x.y.z]
                [x]
                w = 1
                """)
            #expect(table["server"]?.table?["listen"] == .array([.string("a"), .string("b"), .string("c")]))
            let routes = try #require(table["route"]?.array)
            #expect(routes.count == 2)
            #expect(routes[0].table?["sub"]?.table?["x"] == .integer(1))
            #expect(routes[1].table?["name"] == .string("two"))
            #expect(routes[1].table?["inline"]?.table?["b"]?.table?["c"] == .array([.integer(1), .string("mixed"), .float(2.5)]))
            #expect(table["x"]?.table?.keys == ["y", "w"])
        }

        /// (document, line, column, message): columns count characters (Unicode scalars).
        static let errors: [(String, Int, Int, String)] = [
            // Broken headers (toml++ aborted on some of them; TOMLHeaderGuard used to catch them).
            ("[route", 1, 7, "expected ']' to close the table header"),
            ("[[route]\n", 1, 9, "expected ']]' to close the array-of-tables header"),
            ("[a..b]", 1, 4, "expected a key, found '.'"),
            ("[]", 1, 2, "expected a key, found ']'"),
            ("[#server]", 1, 2, "expected a key, found '#'"),
            ("[[[a]]]", 1, 3, "expected a key, found '['"),
            ("[[=", 1, 3, "expected a key, found '='"),
            ("x = 1\n  [$a]", 2, 4, "expected a key, found '$'"),
            ("a = [}", 1, 6, "expected a value, found '}'"),
            ("a = [1, }", 1, 9, "expected a value, found '}'"),
            ("[a] x = 1", 1, 5, "expected the end of the line after a table header, found 'x'"),
            // Keys and values.
            ("a = 1\na = 2", 2, 1, "duplicate key 'a'"),
            ("a.b = 1\na.b = 2", 2, 3, "duplicate key 'a.b'"),
            ("[server]\nlisten", 2, 7, "expected '=' after a key"),
            ("key value", 1, 5, "expected '=' after a key, found 'v'"),
            ("a = ", 1, 5, "expected a value, found the end of the file"),
            ("a = \n", 1, 5, "expected a value, found the end of the line"),
            ("a = hello", 1, 5, "expected a value, found 'h' (a string needs quotes)"),
            ("a = tru", 1, 5, "expected a value (a string needs quotes)"),
            ("a = 1 2", 1, 7, "expected the end of the line after a value, found '2'"),
            ("é = 1", 1, 1, "expected a key, found 'é'"),
            ("x = \"é\" é", 1, 9, "expected the end of the line after a value, found 'é'"),
            // Strings.
            ("a = \"abc", 1, 5, "unterminated string"),
            ("a = \"abc\nb = 1", 1, 5, "unterminated string (a \"…\" string ends on its line; use \"\"\"…\"\"\" for several lines)"),
            ("a = 'abc", 1, 5, "unterminated string"),
            ("a = \"\"\"abc", 1, 5, "unterminated multi-line string: expected '\"\"\"'"),
            ("a = \"\\q\"", 1, 6, "invalid escape '\\q'"),
            ("a = \"\\uD800\"", 1, 6, "invalid escape: U+D800 is not a Unicode scalar value (a surrogate or beyond U+10FFFF)"),
            ("a = \"\\U00110000\"", 1, 6, "invalid escape: U+110000 is not a Unicode scalar value (a surrogate or beyond U+10FFFF)"),
            ("a = \"\\u12\"", 1, 6, "invalid escape: '\\u' needs 4 hexadecimal digits"),
            ("a = \"a\u{1}b\"", 1, 7, "control character U+0001 is not allowed in a string; write it as an escape"),
            ("a = \"\"\"a\\ b\"\"\"", 1, 9, "a backslash followed by spaces must end the line (or write '\\\\' for a backslash)"),
            ("# comment \u{7F}", 1, 11, "control character U+007F is not allowed in a comment"),
            ("a = 1\r", 1, 6, "expected the end of the line after a value, found a carriage return without a line feed"),
            ("\u{0}", 1, 1, "expected a key, found control character U+0000"),
            ("\u{FEFF}a = 1\nb", 2, 2, "expected '=' after a key"),
            ("\u{FEFF}a = ?", 1, 5, "expected a value, found '?'"),
            // Numbers and dates.
            ("a = 9223372036854775808", 1, 5, "integer out of range (TOML integers are 64-bit: -9223372036854775808 to 9223372036854775807)"),
            ("a = 0x8000000000000000", 1, 5, "integer out of range (TOML integers are 64-bit: -9223372036854775808 to 9223372036854775807)"),
            ("a = 012", 1, 5, "leading zeros are not allowed in a number"),
            ("a = 1__0", 1, 5, "an underscore in a number must be between two digits"),
            ("a = 1.", 1, 5, "a decimal point must be followed by digits"),
            ("a = 1e", 1, 5, "an exponent must have digits"),
            ("a = -0x1", 1, 5, "a hexadecimal, octal or binary integer cannot have a sign"),
            ("a = 12abc", 1, 5, "invalid number (a string needs quotes)"),
            ("a = 1979-02-29", 1, 5, "invalid date (no such month or day)"),
            ("a = 1979-05-27T25:00:00", 1, 16, "invalid time (hour, minute or second out of range)"),
            ("a = 07:32", 1, 5, "invalid time: expected HH:MM:SS"),
            // Tables.
            ("[a]\n[a]", 2, 1, "table [a] is already defined"),
            ("[a.b]\n[a]\n[a]", 3, 1, "table [a] is already defined"),
            ("a.b = 1\n[a]", 2, 1, "table [a] is already defined by dotted keys"),
            ("[a]\nb.c = 1\n[a.b]", 3, 1, "table [a.b] is already defined by dotted keys"),
            ("[a.b]\nx = 1\n[a]\nb.y = 2", 4, 1, "cannot add 'b.y': table [b] is already defined elsewhere"),
            ("a = {}\n[a]", 2, 1, "cannot define table [a]: 'a' is already an inline table"),
            ("a = {b = 1}\n[a.c]", 2, 1, "cannot define [a.c]: 'a' is an inline table, which cannot be extended"),
            ("a = {b = 1}\na.c = 2", 2, 1, "cannot add 'a.c': 'a' is already an inline table"),
            ("a = []\n[[a]]", 2, 1, "cannot append to 'a' with [[a]]: it is a static array"),
            ("[[a]]\n[a]", 2, 1, "[a] is already an array of tables ([[a]])"),
            ("[a]\n[[a]]", 2, 1, "cannot define [[a]]: [a] is already a table"),
            ("a = {b = 1, b = 2}", 1, 13, "duplicate key 'b'"),
            ("a = {b = 1,}", 1, 12, "a trailing comma is not allowed in an inline table"),
            ("a = {b = 1\n}", 1, 11, "an inline table must stay on one line (TOML 1.0)"),
            ("a = [1 2]", 1, 8, "expected ',' or ']' after an array element, found '2'"),
            ("a = [1,", 1, 5, "unterminated array: expected ']'"),
            ("[[[[", 1, 3, "expected a key, found '['"),
            ("a = " + String(repeating: "[", count: 200), 1, 105, "values are nested more than 100 levels deep"),
            // The 101st part of a dotted key is refused where it starts (not after reading them all).
            (String(repeating: "a.", count: 5000) + "a = 1", 1, 201, "the key has more than 100 parts"),
        ]

        @Test(arguments: Self.errors.indices)
        func errorsHavePositions(index: Int) {
            let (text, line, column, message) = Self.errors[index]
            let error = Self.failure(text)
            #expect(error == TOMLParseError(line: line, column: column, message: message), "\(text.debugDescription)")
        }

        @Test func crlfLineEndings() throws {
            let table = try Self.parse("[a]\r\nb = 1\r\n# c\r\nd = \"\"\"x\r\ny\"\"\"\r\n")
            #expect(table["a"]?.table?["d"] == .string("x\ny"))
            #expect(Self.failure("[a]\r\nb = \r\n")?.line == 2)
        }

        /// Keys compare by their bytes, as TOML (and tomllib, toml++) do: é written precomposed
        /// and as e + U+0301 are two keys, not a duplicate, although Swift's `==` finds the
        /// strings equal.
        @Test func keysThatOnlyLookAlikeAreTwoKeys() throws {
            let table = try Self.parse("\"\u{E9}\" = 1\n\"e\u{301}\" = 2\n[t.\"\u{E9}\"]\n[t.\"e\u{301}\"]")
            #expect(table.count == 3)
            #expect(table.keys.map { Array($0.utf8) } == [[0xC3, 0xA9], [0x65, 0xCC, 0x81], Array("t".utf8)])
            #expect(table["t"]?.table?.count == 2)
            #expect(Self.failure("\"\u{E9}\" = 1\n\"\\u00E9\" = 2")?.message == "duplicate key '\"\u{E9}\"'")
        }

        @Test func descriptionIsLineColumnMessage() {
            #expect(Self.failure("a = 1\na = 2")?.description == "line 2, column 1: duplicate key 'a'")
        }
    }
}

extension TOMLValue {
    var floatValue: Double? {
        if case .float(let value) = self { return value }
        return nil
    }
}
