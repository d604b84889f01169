import Foundation
import Testing
@testable import M2MProxy

extension ConfigTests {
    /// `TOMLParser` against Python's standard `tomllib` (the reference parser already on the test
    /// machine): every document of the corpus is parsed by both, valid ones must give the same
    /// tree, invalid ones must be rejected by both. One python3 process parses the whole corpus.
    @Suite struct TOMLDifferentialTests {
        /// Hand-written documents, valid and invalid, one or more per rule of TOML 1.0.
        static let handWritten: [String] = [
            // Comments, whitespace, line endings. (Not a leading byte-order mark: tomllib refuses
            // one, TOMLParser skips it on purpose; TOMLParserTests covers that.)
            "", "# only a comment", "\n\n\t \n", "a = 1 # trailing\n", "a = 1\r\nb = 2\r\n", "a = 1\rb = 2",
            "# tab\tin comment\na = 1", "# bad \u{1} control", "# del \u{7F}", "a = 1 # \u{0}",
            "a = 1\n\u{0}", "a = \"\u{0}\"", "  \t[a]  \t# x\n  b = 1",
            // Keys.
            "bare_key-1 = 1", "1234 = 1", "\"quoted key\" = 1", "'literal key' = 1", "\"\" = 1", "'' = 1",
            "= 1", "a.b.c = 1", "a . b . c = 1", "\"a.b\".c = 1", "a.'b c'.\"d\\u00e9\" = 1", "a. = 1", ".a = 1",
            "a..b = 1", "a b = 1", "a = 1\na = 2", "a = 1\n\"a\" = 2", "a.b = 1\na.c = 2", "a.b = 1\na = 2",
            "a = 1\na.b = 2", "\"\"\"k\"\"\" = 1", "k\u{E9} = 1", "\"\u{E9}\" = 1", "3.14 = 1", "true = 1", "inf = 1",
            // Strings.
            "s = \"tab\\tnl\\nbs\\bff\\fcr\\rq\\\"bs\\\\\"", "s = \"\\u00E9\\U0001F600\"", "s = \"\\uD800\"", "s = \"\\uDFFF\"",
            "s = \"\\U00110000\"", "s = \"\\x41\"", "s = \"\\e\"", "s = \"\\ \"", "s = \"\\u12G4\"", "s = \"a\tb\"",
            "s = \"a\u{1F}b\"", "s = \"a\u{7F}b\"", "s = \"open", "s = \"line\nbreak\"", "s = 'lit\\n'", "s = 'a\tb'",
            "s = 'a\u{1}b'", "s = 'open", "s = 'it''s'", "s = \"\"\"\nfirst\nsecond\"\"\"", "s = \"\"\"a\\\n   \n  b\"\"\"",
            "s = \"\"\"a\\   \n b\"\"\"", "s = \"\"\"a\\ b\"\"\"", "s = \"\"\"q\"\"\"\"", "s = \"\"\"q\"\"\"\"\"", "s = \"\"\"q\"\"\"\"\"\"",
            "s = \"\"\"\"\"\"", "s = \"\"\"a\"b\"\"c\"\"\"", "s = \"\"\"\u{1}\"\"\"", "s = \"\"\"\r\na\r\nb\"\"\"", "s = \"\"\"open",
            "s = '''\nfirst\n  second'''", "s = '''q''''", "s = '''q'''''", "s = '''q''''''", "s = '''a\\nb'''",
            "s = '''\u{1}'''", "s = '''open", "s = \"\"\"\\q\"\"\"", "s = \"é€😀\"", "s = \"\"\"\\\n\"\"\"",
            // Integers.
            "i = 0", "i = +0", "i = -0", "i = 99", "i = +99", "i = -17", "i = 1_000", "i = 5_349_221", "i = 1__0",
            "i = _1", "i = 1_", "i = 012", "i = 00", "i = -01", "i = 0x0", "i = 0xDEADbeef", "i = 0xdead_beef",
            "i = 0x_1", "i = 0X1", "i = +0x1", "i = 0o755", "i = 0o8", "i = 0b1101", "i = 0b2", "i = 0x",
            "i = 9223372036854775807", "i = 9223372036854775808", "i = -9223372036854775808", "i = -9223372036854775809",
            "i = 0x7FFFFFFFFFFFFFFF", "i = 0x8000000000000000", "i = 0o777777777777777777777", "i = 0o1777777777777777777777",
            "i = 1 2", "i = 12abc", "i = 1,", "i = --1", "i = +-1",
            // Floats.
            "f = 1.0", "f = +1.0", "f = -3.1415", "f = 5e+22", "f = 1e06", "f = -2E-2", "f = 6.626e-34", "f = 224_617.445_991",
            "f = 1e1_0", "f = 1.", "f = .5", "f = 1.e5", "f = 1e", "f = 1e+", "f = 01.5", "f = 0.5", "f = 00.5", "f = 1_.5",
            "f = 1._5", "f = inf", "f = +inf", "f = -inf", "f = nan", "f = +nan", "f = -nan", "f = infinity", "f = Inf",
            "f = NaN", "f = 0.1", "f = 1e308", "f = 1e400", "f = 4.9e-324", "f = 1e-400", "f = 0.30000000000000004",
            "f = 123456789012345678901234567890.5", "f = 1.5.3", "f = 1e5.5", "f = -0.0", "f = 0e0", "f = 1_e5",
            // Booleans.
            "b = true", "b = false", "b = True", "b = tru", "b = truex", "b = true1",
            // Date-times.
            "d = 1979-05-27T07:32:00Z", "d = 1979-05-27t07:32:00z", "d = 1979-05-27T00:32:00-07:00",
            "d = 1979-05-27T00:32:00.999999-07:00", "d = 1979-05-27 07:32:00Z", "d = 1979-05-27T07:32:00",
            "d = 1979-05-27T07:32:00.5", "d = 1979-05-27", "d = 07:32:00", "d = 00:32:00.999999", "d = 1979-05-27T07:32",
            "d = 1979-5-27", "d = 1979-13-01", "d = 1979-02-29", "d = 2000-02-29", "d = 1900-02-29", "d = 1979-04-31",
            "d = 1979-05-27T24:00:00", "d = 1979-05-27T07:60:00", "d = 1979-05-27T07:32:60", "d = 1979-05-27T07:32:00+24:00",
            "d = 1979-05-27T07:32:00+07", "d = 1979-05-27T07:32:00.", "d = 1979-05-27T", "d = 1979-05-27 ", "d = 1979-05-27 x",
            "d = 0000-01-01", "d = 1979-05-27T07:32:00Zx", "d = 07:32:00Z", "d = [1979-05-27, 07:32:00]", "d = 1979-05-27 # c",
            // Arrays.
            "a = []", "a = [ ]", "a = [1, 2, 3]", "a = [1, 2, 3,]", "a = [1, \"two\", 3.0, [4], {five = 5}]", "a = [,]",
            "a = [1,,2]", "a = [1 2]", "a = [\n1,\n# c\n2 # d\n,\n]", "a = [[1, 2], [\"a\", 'b']]", "a = [1", "a = [\"a\"\n\"b\"]",
            "a = [ 1, ]\nb = 2", "a = [{}, {a = 1}]", "a = [true, false]",
            // Inline tables.
            "t = {}", "t = { }", "t = {a = 1}", "t = {a = 1, b = \"x\"}", "t = {a.b = 1, a.c = 2}", "t = {a = 1,}",
            "t = {a = 1\n}", "t = {\na = 1}", "t = {a = 1, a = 2}", "t = {a = {b = 1}, a.c = 2}", "t = {a.b = 1, a = 2}",
            "t = {a = [1, 2], b = {c = {d = 1}}}", "t = {a = 1 b = 2}", "t = {,}", "t = {a = 1}\nt.b = 2", "t = {a = 1}\n[t]",
            "t = {a = 1}\n[t.b]", "t = {a = {}}\n[t.a]", "t = {a = []}\n[[t.a]]", "t = {a = 1",
            // Tables.
            "[a]", "[a]\n[b]", "[a.b.c]", "[ a . b ]", "[\"quoted\".'key']", "[a]\n[a]", "[a]\n[A]", "[a.b]\n[a]",
            "[a]\n[a.b]\n[a]", "[a.b]\n[a.b]", "[a]\nb = 1\n[a.b]", "[a]\nb.c = 1\n[a.b]", "[a]\nb.c = 1\n[a.b.d]",
            "a.b.c = 1\n[a.b.d]", "a.b.c = 1\n[a]", "a.b = 1\n[a.b]", "[a.b.c]\n[a]\nb.d = 1", "[a.b.c]\n[a]\nb.d = 1\n[a.b]",
            "[a.b]\nx = 1\n[a]\nb.y = 2", "[a]\nx.y = 1\n[b]\n[a.x.z]", "[a]\nx.y = 1\n[b]\n[a]", "a = 1\n[a]", "a = 1\n[a.b]",
            "[a] x = 1", "[a", "[a]]", "[]", "[a.]", "[.a]", "[a..b]", "[#a]", "[ ]", "[a]b = 1", "[[a]", "[[a] ]",
            "[\"\"]", "[a]\n[\"a\"]", "[a]\n['a']",
            // Arrays of tables.
            "[[a]]", "[[a]]\n[[a]]", "[[a]]\nb = 1\n[[a]]\nb = 2", "[[a]]\n[a.b]\n[[a]]\n[a.b]", "[[a]]\n[[a.b]]\n[[a.b]]",
            "[[a]]\n[a]", "[a]\n[[a]]", "a = []\n[[a]]", "a = [1]\n[[a]]", "a = [{}]\n[[a]]", "[[a]]\na = 1", "[[a]]\n[a.b]\nc = 1",
            "[[a.b]]\n[a]\nc = 1", "[[a.b]]\n[a]\nb.c = 1", "[[a]]\n[[a.b]]\n[a.b.c]", "[[a]]\nb.c = 1\n[[a]]\nb.c = 2",
            "[[a]]\nb.c = 1\n[a.b]", "[[a]]\n[a.b]\n[a.b]", "[[a]]\n[a.b]\n[[a]]\n[a.b]\n[a.b.c]",
            "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n[[fruits.varieties]]\nname = \"red delicious\"\n[[fruits]]\nname = \"banana\"",
            // The spec's own examples of dotted keys and tables.
            "fruit.apple.color = \"red\"\nfruit.apple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true",
            "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple]",
            "[fruit]\napple.color = \"red\"\n[fruit.apple.taste]",
            "apple.type = \"fruit\"\norange.type = \"fruit\"\napple.skin = \"thin\"",
            "[product]\ntype.name = \"Nail\"\ntype = { edible = false }",
            "[product]\ntype = { name = \"Nail\" }\ntype.edible = false",
        ]

        /// Each value on its own, inside an array and inside an inline table.
        static let values: [String] = [
            "1", "-1", "+1", "1_0", "0x1F", "0o7", "0b1", "1.5", "1e3", "-inf", "nan", "true", "false", "\"s\"", "'s'",
            "\"\"\"m\"\"\"", "'''m'''", "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", "[]", "{}", "[1]", "{x = 1}",
            "01", "1__2", "0x", "1.", "x", "\"a", "'a", "[1", "{x = 1", "{x = 1,}", "1979-05-32", "24:00:00", "\"\\q\"",
        ]

        static func generated() -> [String] {
            var documents: [String] = []
            for value in values {
                documents.append("a = \(value)")
                documents.append("a = [\(value), \(value)]")
                documents.append("a = { b = \(value), c.d = \(value) }")
            }
            // Every sequence of three of these statements: the redefinition rules in combination.
            let statements = ["[a]", "[a.b]", "[[a]]", "[[a.b]]", "a.b = 1", "b.c = 2", "a = 1", "a = {}", "a = [{}]", "[a.b.c]", "c = 3", "[b]"]
            for x in statements {
                for y in statements {
                    for z in statements { documents.append("\(x)\n\(y)\n\(z)\n") }
                }
            }
            return documents
        }

        /// A canonical text of a parsed document, which the Python side produces the same way:
        /// keys sorted by code point, strings as hex UTF-8, floats as their IEEE bits (any NaN as
        /// `nan`), date-times as their kind plus date and time to the second (tomllib keeps
        /// microseconds and writes offsets its own way; our parser keeps the raw text).
        static func dump(_ value: TOMLValue) -> String {
            switch value {
            case .string(let text): return "s:" + hex(Array(text.utf8))
            case .integer(let number): return "i:\(number)"
            case .float(let number):
                guard !number.isNaN else { return "f:nan" }
                let bits = String(number.bitPattern, radix: 16)
                return "f:" + String(repeating: "0", count: 16 - bits.count) + bits
            case .boolean(let flag): return "b:\(flag)"
            case .datetime(let raw): return dumpDateTime(raw)
            case .array(let elements): return "[" + elements.map(dump).joined(separator: ",") + "]"
            case .table(let table):
                let keys = table.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                return "{" + keys.map { hex(Array($0.utf8)) + "=" + dump(table[$0]!) }.joined(separator: ",") + "}"
            }
        }

        static func dumpDateTime(_ raw: String) -> String {
            let chars = Array(raw)
            if chars.count == 10 { return "ld:" + raw }
            if chars.count >= 19, chars[4] == "-" {
                let time = String(chars[11..<19])
                let rest = chars[19...].drop { $0 == "." || $0.isNumber }
                return (rest.isEmpty ? "ldt:" : "odt:") + String(chars[0..<10]) + "T" + time
            }
            return "lt:" + String(chars[0..<8])
        }

        static func hex(_ bytes: [UInt8]) -> String {
            bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        }

        static let python = #"""
        import sys, tomllib, struct, datetime
        def hexs(s): return s.encode("utf-8").hex()
        def dump(v):
            if isinstance(v, bool): return "b:" + ("true" if v else "false")
            if isinstance(v, str): return "s:" + hexs(v)
            if isinstance(v, int):
                # TOML 1.0: an integer that does not fit 64 bits must be an error; tomllib's
                # are unbounded, so the reference side applies the spec's rule here.
                if not -2**63 <= v < 2**63: raise OverflowError(v)
                return "i:%d" % v
            if isinstance(v, float): return "f:nan" if v != v else "f:" + struct.pack(">d", v).hex()
            if isinstance(v, datetime.datetime):
                return ("odt:" if v.tzinfo is not None else "ldt:") + v.isoformat()[:19]
            if isinstance(v, datetime.date): return "ld:" + v.isoformat()
            if isinstance(v, datetime.time): return "lt:" + v.isoformat()[:8]
            if isinstance(v, list): return "[" + ",".join(dump(x) for x in v) + "]"
            if isinstance(v, dict): return "{" + ",".join(hexs(k) + "=" + dump(v[k]) for k in sorted(v)) + "}"
            raise TypeError(type(v))
        out = []
        for line in sys.stdin.read().split("\n"):
            try:
                out.append(dump(tomllib.loads(bytes.fromhex(line).decode("utf-8"))))
            except Exception:
                out.append("ERR")
        sys.stdout.write("\n".join(out))
        """#

        static func referenceDumps(_ documents: [String]) throws -> [String] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", python]
            let input = Pipe(), output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            // Written from another thread: python's output could fill the pipe before it has read
            // all of its input.
            let text = documents.map { hex(Array($0.utf8)) }.joined(separator: "\n")
            let writer = Thread {
                input.fileHandleForWriting.write(Data(text.utf8))
                try? input.fileHandleForWriting.close()
            }
            writer.start()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }

        static var corpus: [String] {
            var documents = handWritten + generated()
            let example = ConfigLoaderFileTests.examplePath
            if let text = try? String(contentsOfFile: example, encoding: .utf8) { documents.append(text) }
            return documents
        }

        @Test func agreesWithTomllib() throws {
            let documents = Self.corpus
            let reference = try Self.referenceDumps(documents)
            try #require(reference.count == documents.count)
            var mismatches: [String] = []
            var valid = 0
            for (document, expected) in zip(documents, reference) {
                let ours: String
                do {
                    ours = Self.dump(.table(try TOMLParser.parse(document)))
                    valid += 1
                } catch {
                    ours = "ERR"
                }
                if ours != expected {
                    mismatches.append("\(document.debugDescription): ours \(ours.prefix(200)), tomllib \(expected.prefix(200))")
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.count) of \(documents.count) differ:\n\(mismatches.prefix(30).joined(separator: "\n"))")
            // Both kinds are well represented.
            #expect(documents.count > 1500 && valid > 300 && documents.count - valid > 300, "\(valid) valid of \(documents.count)")
        }
    }
}
