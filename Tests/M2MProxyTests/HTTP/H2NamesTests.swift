import Testing
@testable import M2MProxy

/// `H2Names.hasLine`: a field by name among HTTP/1.1 field lines (an HTTP/2 request's fields).
@Suite struct H2NamesTests {
    private func has(_ name: StaticString, _ lines: String) -> Bool {
        Array(lines.utf8).withUnsafeBytes { H2Names.hasLine(named: name, in: $0) }
    }

    @Test func findsAWholeNameAtALineStart() {
        #expect(has("priority", "priority: u=1\r\n"))
        #expect(has("priority", "accept: */*\r\npriority: i\r\nx-a: b\r\n"))
        #expect(has("priority", "a: b\r\npriority: \r\n"))
    }

    @Test func ignoresPrefixesValuesAndLongerNames() {
        #expect(!has("priority", ""))
        #expect(!has("priority", "x-priority: u=1\r\n"))
        #expect(!has("priority", "priority-x: u=1\r\n"))
        #expect(!has("priority", "a: priority: u=1\r\n"))
        #expect(!has("priority", "priorit: u\r\n"))
    }
}
