import Foundation
import Testing

/// STYLE.md §1's one-way layers, held by a test while the layers share one SwiftPM target:
/// code (comments aside) in a lower folder names no type of the layers above it.
@Suite struct LayeringTests {
    private static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources/M2MProxy")

    /// Every identifier-like word of the folder's Swift files, comments removed, by file.
    private static func words(in folder: String) throws -> [(file: String, words: Set<String>)] {
        let dir = sources.appendingPathComponent(folder)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty, "no Swift files in \(dir.path)")
        return try files.sorted().map { name in
            let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            let code = text.split(separator: "\n").map { line -> Substring in
                guard let r = line.range(of: "//") else { return line }
                return line[..<r.lowerBound]
            }.joined(separator: "\n")
            let words = code.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).map(String.init)
            return (name, Set(words))
        }
    }

    private static func check(_ folder: String, names forbidden: [String]) throws {
        for (file, words) in try words(in: folder) {
            for name in forbidden where words.contains(name) {
                Issue.record("\(folder)/\(file) names \(name), a type of a layer above \(folder)")
            }
        }
    }

    @Test func cBridgeNamesNothingAboveIt() throws {
        try Self.check("CBridge", names: [
            "ClientConnection", "Worker", "TokenCache", "TokenClient", "TokenView", "ProxyConfig", "ConfigLoader",
            "Router", "CompiledRoute", "UpstreamConnection", "UpstreamPool", "AdminHandler", "ProxyError",
        ])
    }

    /// The line a SwiftPM target of its own would hold: CBridge names no type declared (at top
    /// level) in any other folder of M2MProxy, so it builds without them.
    /// Types declared (at top level) in the given folders of M2MProxy, by name.
    private static func declared(in folders: [String]) throws -> [String: String] {
        var found: [String: String] = [:]
        let declaration = /^(?:(?:public|package|internal|private|fileprivate|final) )*(?:struct|class|enum|protocol|typealias|actor) (\w+)/
        for folder in folders {
            let dir = Self.sources.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".swift") {
                let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    if let m = line.firstMatch(of: declaration) { found[String(m.1)] = "\(folder)/\(name)" }
                }
            }
        }
        return found
    }

    @Test func cBridgeIsSelfContained() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path).filter { $0 != "CBridge" }
        let declaredAbove = try Self.declared(in: folders)
        #expect(declaredAbove["ClientConnection"] != nil, "the scan found no declarations")
        try Self.check("CBridge", names: declaredAbove.keys.sorted())
    }

    /// Upstream sits below Proxy and Loop (STYLE.md §1): it reaches its loop through `LoopIO` and
    /// `UpstreamEnvironment`, its clients through `UpstreamClient`, and names no type of the
    /// layers above it (nor of Auth and Admin beside them).
    @Test func upstreamNamesNothingAboveIt() throws {
        let above = try Self.declared(in: ["Proxy", "Loop", "Admin", "Auth"])
        #expect(above["Worker"] != nil && above["ClientConnection"] != nil, "the scan found no declarations")
        try Self.check("Upstream", names: above.keys.sorted())
    }

    @Test func upstreamNamesNoProxyType() throws {
        try Self.check("Upstream", names: ["ClientConnection", "ProxyError", "RouteTable", "CompiledRoute", "Router"])
    }

    @Test func authNamesNoConnectionOrLoop() throws {
        try Self.check("Auth", names: ["ClientConnection", "Worker", "ProxyError", "UpstreamConnection", "ControlLoop"])
    }

    /// The RESP client (Store/) serves the token store and names nothing of Auth, Proxy or Loop.
    @Test func storeNamesNothingAboveIt() throws {
        try Self.check("Store", names: [
            "ClientConnection", "Worker", "ControlLoop", "TokenCache", "TokenEntry", "SharedTokenStore", "TokenStore",
            "Router", "UpstreamConnection", "AdminHandler", "ProxyError",
        ])
    }
}
