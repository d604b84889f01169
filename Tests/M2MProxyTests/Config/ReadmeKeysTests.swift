import Foundation
import Testing

/// README's configuration table is checked against proxy.conf.example, which documents every
/// key (and is itself loaded by ConfigLoaderTests), both ways: a key added to one must reach the
/// other.
@Suite struct ReadmeKeysTests {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private static func keys(inExample text: String) -> Set<String> {
        var keys = Set<String>()
        for line in text.split(separator: "\n") {
            var l = Substring(line)
            if l.hasPrefix("#") { l = l.dropFirst().drop { $0 == " " } }
            guard let eq = l.firstIndex(of: "=") else { continue }
            let name = l[..<eq].trimmingCharacters(in: .whitespaces)
            if !name.isEmpty, name.allSatisfy({ $0.isLowercase || $0 == "_" }) { keys.insert(name) }
        }
        return keys
    }

    /// proxy.conf.example, and README's configuration section.
    private static func files() throws -> (example: String, section: String) {
        let example = try String(contentsOf: root.appendingPathComponent("proxy.conf.example"), encoding: .utf8)
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Configuration").dropFirst().first?
            .components(separatedBy: "\n## ").first)
        return (example, section)
    }

    @Test func everyExampleKeyIsInTheReadmeTable() throws {
        let (example, section) = try Self.files()
        let keys = Self.keys(inExample: example)
        #expect(keys.count > 25, "parsed keys: \(keys.sorted())")
        for key in keys.sorted() {
            #expect(section.contains("`\(key)`"), "README's configuration table lacks `\(key)`")
        }
    }

    /// The keys README's table names: backticked names in its second column, outside the
    /// parenthesised notes (which quote values such as `client_secret_basic` or `true`).
    private static func keys(inReadmeSection section: String) -> Set<String> {
        var keys = Set<String>()
        for line in section.split(separator: "\n") where line.hasPrefix("| `[") {
            let columns = line.split(separator: "|", omittingEmptySubsequences: false)
            guard columns.count > 2 else { continue }
            var depth = 0
            var outside = ""
            for ch in columns[2] {
                if ch == "(" { depth += 1 } else if ch == ")" { depth = max(depth - 1, 0) } else if depth == 0 { outside.append(ch) }
            }
            let parts = outside.split(separator: "`", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() where i % 2 == 1 && !p.isEmpty && p.allSatisfy({ $0.isLowercase || $0 == "_" }) {
                keys.insert(String(p))
            }
        }
        return keys
    }

    @Test func everyReadmeTableKeyIsInTheExample() throws {
        let (example, section) = try Self.files()
        let documented = Self.keys(inReadmeSection: section)
        #expect(documented.count > 25, "parsed keys: \(documented.sorted())")
        let exampleKeys = Self.keys(inExample: example)
        for key in documented.sorted() {
            #expect(exampleKeys.contains(key), "proxy.conf.example lacks `\(key)`, which README's table names")
        }
    }
}
