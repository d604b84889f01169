import Foundation
import Testing

/// The real binary's command line (DESIGN.md §2): help and version on stdout with status 0, a
/// usage error as one clear line on stderr with status 64 (EX_USAGE), never a stack trace.
@Suite struct CommandLineTests {
    @Test func helpAndVersionExitZero() throws {
        let dir = try TempDir("cli")
        let help = try ProxyProcess.runToExit(["--help"], in: dir)
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: m2m-proxy [run] [--config <file>]") && help.stdout.contains("check"))
        let checkHelp = try ProxyProcess.runToExit(["check", "-h"], in: dir)
        #expect(checkHelp.status == 0 && checkHelp.stdout.contains("USAGE: m2m-proxy check [--config <file>]"))
        let version = try ProxyProcess.runToExit(["--version"], in: dir)
        #expect(version.status == 0)
        #expect(version.stdout.split(separator: "\n").count == 1 && version.stdout.first?.isNumber == true)
    }

    @Test func usageErrorIsOneLineAndStatus64() throws {
        let dir = try TempDir("cli")
        let o = try ProxyProcess.runToExit(["--confg", "x.conf"], in: dir)
        #expect(o.status == 64)
        #expect(o.stdout.isEmpty)
        #expect(o.stderr.hasPrefix("m2m-proxy: unknown option '--confg'\nUsage: m2m-proxy [run]"), "\(o.stderr)")
        let check = try ProxyProcess.runToExit(["check", "--config"], in: dir)
        #expect(check.status == 64 && check.stderr.hasPrefix("m2m-proxy: missing value for '--config <file>'"), "\(check.stderr)")
    }

    @Test func equalsFormReachesTheLoader() throws {
        let dir = try TempDir("cli")
        let path = try dir.write("eq.conf", ConfigCheckTests.valid().toml)
        let o = try ProxyProcess.runToExit(["check", "--config=\(path)"], in: dir)
        #expect(o.status == 0, "stdout: \(o.stdout) stderr: \(o.stderr)")
        #expect(o.stdout.contains("configuration \(path) is valid"))
    }
}
