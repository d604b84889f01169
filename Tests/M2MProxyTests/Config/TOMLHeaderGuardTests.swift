import Testing
@testable import M2MProxy

extension ConfigTests {
    @Suite struct TOMLHeaderGuardTests {
        func unsafe(_ text: String) -> (line: Int, column: Int)? {
            TOMLHeaderGuard.firstUnsafeHeader(in: text).map { ($0.line, $0.column) }
        }

        /// Each of these aborts inside toml++ (marzer/tomlplusplus#301) if it gets through.
        @Test(arguments: ["[#server]", "[[[a]]]", "[[=", "[ =x]", "[[ #]]", "x = 1\n  [$a]", "a = [}", "a = [1, }", "a = [{b = 1}, [}]]",
                           "\u{FEFF}[\t\u{17}serve]", "\u{FEFF}[[#a]]"])
        func unsafeHeaders(text: String) {
            #expect(unsafe(text) != nil)
            #expect(ConfigLoader.parse(text: text, environment: [:]).errors.count == 1)
        }

        @Test func positionIsReported() {
            #expect(unsafe("[a]\nb = 1\n  [#c]")! == (3, 3))
            // Columns count from after a byte-order mark, as toml++ does.
            #expect(unsafe("\u{FEFF}[#c]")! == (1, 1))
        }

        @Test(arguments: [
            "[server]\n[[route]]\n[ \"quoted\" ]\n['lit']\n[a.b]\n[]",
            "a = [\n[#not, a, header]]",  // nested array, then a comment
            "a = \"\"\"\n[#in a string]\"\"\"",
            "a = '''\n[#in a string]'''",
            "a = \"\"\"x\\\"\"\"\n[#still in the string]\"\"\"",
            "a = \"\"\"q\"\"\"\"\nb = 1",  // closing delimiter plus one quote of content
            "a = { b = [\n1] }",
            "a = [{ b = 1 }, { c = [2] }]",
            "# [#comment]\n  # [#comment]",
            "[a] # [#comment",
            "\u{FEFF}[server]\nlisten = \"127.0.0.1:1\"",
        ])
        func safeText(text: String) {
            #expect(unsafe(text) == nil)
        }
    }
}
