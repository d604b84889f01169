import Foundation
import Testing

/// README's configuration table is checked against proxy.conf.example, which documents every
/// key (and is itself loaded by ConfigLoaderTests): a key added to one must reach the other.
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

    @Test func everyExampleKeyIsInTheReadmeTable() throws {
        let example = try String(contentsOf: Self.root.appendingPathComponent("proxy.conf.example"), encoding: .utf8)
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Configuration").dropFirst().first?
            .components(separatedBy: "\n## ").first)
        let keys = Self.keys(inExample: example)
        #expect(keys.count > 25, "parsed keys: \(keys.sorted())")
        for key in keys.sorted() {
            #expect(section.contains("`\(key)`"), "README's configuration table lacks `\(key)`")
        }
    }
}
