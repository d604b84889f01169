import Foundation
import Glibc
import Testing
@testable import M2MProxy

/// The asan stage of scripts/test.sh runs with leak detection on and
/// scripts/lsan-suppressions.txt, which names frames of the test runner's own process (XCTest,
/// Foundation). Two ways that could go wrong, each checked here:
/// - a pattern broad enough to match our own frames would hide our leaks: the patterns are
///   checked against the names of M2MProxy's types, and under ASan an M2MProxy object is leaked
///   on purpose and LeakSanitizer must report it;
/// - loading a config must leak nothing (TOMLKit, the TOML parser before TOMLParser, leaked
///   on every load and SIGHUP reload): under ASan a config is parsed first and the same report
///   must hold no frame of the config loader.
/// The report of the on-purpose leak goes to this test's own file (`__sanitizer_set_report_path`),
/// and the leaked objects are released afterwards, so the stage's report directory stays empty.
extension ConfigTests {
    @Suite struct LeakSuppressionTests {
        static let file = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/lsan-suppressions.txt").path

        /// `leak:PATTERN` lines.
        static func patterns() throws -> [String] {
            try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").compactMap { line in
                line.hasPrefix("leak:") ? String(line.dropFirst(5)) : nil
            }
        }

        /// LeakSanitizer's matching (sanitizer_common `TemplateMatch`): `*` is any run of
        /// characters, `^` and `$` anchor, otherwise the pattern may occur anywhere.
        static func matches(_ pattern: String, _ name: String) -> Bool {
            var p = Substring(pattern)
            let anchoredStart = p.hasPrefix("^")
            if anchoredStart { p = p.dropFirst() }
            let anchoredEnd = p.hasSuffix("$")
            if anchoredEnd { p = p.dropLast() }
            var regex = anchoredStart ? "^" : ""
            regex += p.split(separator: "*", omittingEmptySubsequences: false)
                .map { NSRegularExpression.escapedPattern(for: String($0)) }.joined(separator: ".*")
            if anchoredEnd { regex += "$" }
            return name.range(of: regex, options: .regularExpression) != nil
        }

        @Test func patternsNameNoFrameOfOurs() throws {
            let patterns = try Self.patterns()
            #expect(!patterns.isEmpty)
            // Frame names a leak of ours shows, mangled (as LeakSanitizer prints Swift frames
            // that llvm-symbolizer does not demangle) and demangled, plus the runtime's
            // allocation path every Swift object takes.
            let ours = [
                "$s8M2MProxy17ConfigDiagnosticsCACycfC", "M2MProxy.ConfigDiagnostics.__allocating_init()",
                "$s8M2MProxy11TableReaderC14expandedString_7keyPathSSSgAA9TOMLValueO_SStF",
                "M2MProxy.TableReader.expandedString(_: M2MProxy.TOMLValue, keyPath: Swift.String) -> Swift.String?",
                "$s8M2MProxy10TOMLParserV5parse5bytesAA9TOMLTableVSays5UInt8VG_tAA14TOMLParseErrorVYKFZ",
                "M2MProxy.TOMLParser.parse(bytes: [Swift.UInt8]) throws(M2MProxy.TOMLParseError) -> M2MProxy.TOMLTable",
                "M2MProxy.TOMLTableBuilder.freeze() -> M2MProxy.TOMLTable",
                "$s8M2MProxy12ConfigLoaderO5parse4text11environmentAA0C10LoadResultVSS_SDyS2SGtFZ",
                "$s8M2MProxy16ConfigFileReaderO7readAll4path8maxBytess6ResultOySays5UInt8VGAA16ConfigValueErrorVGSS_SitFZ",
                "M2MProxyTests", "IntegrationTests", "m2m_proxy_main", "swift_allocObject", "swift_slowAlloc",
                "malloc", "calloc", "operator new", "strdup", "main", "libswiftCore.so", "libFoundation.so",
            ]
            for pattern in patterns {
                for frame in ours {
                    #expect(!Self.matches(pattern, frame), "suppression leak:\(pattern) would hide a leak in \(frame)")
                }
            }
            #expect(Self.matches("readBytes", "FoundationEssentials.readBytesFromFile"))
            #expect(!Self.matches("^readBytes$", "readBytesFromFile"))
            #expect(Self.matches("10Foundation7ProcessC3run", "$s10Foundation7ProcessC3runyyKF"))
            #expect(Self.matches("Foundation*run", "Foundation.Process.run()"))
        }

        /// LeakSanitizer's interface, found at run time: only an ASan build has it.
        static let doRecoverableLeakCheck: (@convention(c) () -> Int32)? = symbol("__lsan_do_recoverable_leak_check")
        static let setReportPath: (@convention(c) (UnsafePointer<CChar>?) -> Void)? = symbol("__sanitizer_set_report_path")

        static func symbol<T>(_ name: String) -> T? {
            // A nil handle is RTLD_DEFAULT: the whole process.
            guard let address = dlsym(nil, name) else { return nil }
            return unsafeBitCast(address, to: T.self)
        }

        static var leakCheckingOn: Bool {
            doRecoverableLeakCheck != nil && setReportPath != nil
                && !(ProcessInfo.processInfo.environment["ASAN_OPTIONS"] ?? "").contains("detect_leaks=0")
        }

        /// Leaks `count` M2MProxy objects; their addresses come back masked, so no word anywhere
        /// points at them while the leak check scans memory.
        @inline(never)
        static func leakOnPurpose(count: Int) -> [UInt] {
            (0..<count).map { _ in
                UInt(bitPattern: Unmanaged.passRetained(ConfigDiagnostics()).toOpaque()) ^ 0x5A5A_5A5A_5A5A_5A5A
            }
        }

        @Test(.enabled(if: leakCheckingOn, "needs an ASan build with leak detection (scripts/test.sh --only asan)"))
        func ourLeakIsReportedAndConfigLoadingLeaksNothing() throws {
            let env = ProcessInfo.processInfo.environment
            #expect((env["LSAN_OPTIONS"] ?? "").contains("lsan-suppressions.txt"), "test.sh sets LSAN_OPTIONS=suppressions=…")
            // A load with every kind of TOML value, and one with a syntax error: neither may leak.
            _ = ConfigLoader.parse(text: "a = [1, 2.5, true, 1979-05-27, {b = 'c'}]\nx.y = \"\"\"z\"\"\"\n[[t]]\n[t.u]\n", environment: [:])
            _ = ConfigLoader.parse(text: "[a]\nb = 1\n[a]\n", environment: [:])
            _ = ConfigLoader.parse(text: "[server]\nlisten = \"127.0.0.1:1\"\n[[route]]\nname = \"r\"\nupstream = \"http://a\"\n", environment: [:])

            // The report goes to PREFIX.<pid>.
            let parent = NSTemporaryDirectory(), name = "m2m-lsan-canary-\(UUID().uuidString.prefix(8))"
            let masked = Self.leakOnPurpose(count: 8)
            "\(parent)/\(name)".withCString { Self.setReportPath!($0) }
            let found = Self.doRecoverableLeakCheck!()
            // Back to the stage's report file (ASAN_OPTIONS log_path), else stderr.
            let stagePath = (env["ASAN_OPTIONS"] ?? "").split(separator: ":")
                .first { $0.hasPrefix("log_path=") }.map { String($0.dropFirst("log_path=".count)) } ?? "stderr"
            stagePath.withCString { Self.setReportPath!($0) }
            for bits in masked {
                Unmanaged<ConfigDiagnostics>.fromOpaque(UnsafeRawPointer(bitPattern: bits ^ 0x5A5A_5A5A_5A5A_5A5A)!).release()
            }

            let files = try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.hasPrefix(name) }.map { "\(parent)/\($0)" }
            // The leaks themselves; a "Suppressions used:" table (print_suppressions=1) names the patterns.
            let report = try files.map { try String(contentsOfFile: $0, encoding: .utf8) }.joined()
                .components(separatedBy: "Suppressions used:")[0]
            for file in files { try? FileManager.default.removeItem(atPath: file) }
            #expect(found != 0, "LeakSanitizer reported nothing for 8 leaked objects")
            #expect(report.contains("ConfigDiagnostics"), "our leak is not in the report:\n\(report.prefix(4000))")
            // Each leak is one paragraph: its allocation stack.
            for leak in report.components(separatedBy: "\n\n") where leak.contains("leak of") {
                let stack = leak.split(separator: "\n").filter { $0.contains(" in ") }
                let loader = stack.filter { $0.contains("ConfigLoader") || $0.contains("TOMLParser") || $0.contains("TableReader") || $0.contains("TOMLTable") }
                #expect(loader.isEmpty, "loading a config leaked:\n\(leak.prefix(3000))")
            }
        }
    }
}
