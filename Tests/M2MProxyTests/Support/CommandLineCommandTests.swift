import Testing
@testable import M2MProxy

/// DESIGN.md §2: `m2m-proxy [run] --config FILE`, `m2m-proxy check --config FILE`.
@Suite struct CommandLineCommandTests {
    private func parse(_ line: String) -> Result<CommandLineCommand, CommandLineCommand.UsageError> {
        CommandLineCommand.parse(line.split(separator: " ").map(String.init))
    }

    private func usageMessage(_ line: String) -> String? {
        if case .failure(let e) = parse(line) { return e.message }
        return nil
    }

    @Test(arguments: [
        ("", CommandLineCommand.run(config: "proxy.conf", logLevel: nil)),
        ("--config a.conf", .run(config: "a.conf", logLevel: nil)),
        ("--config=a.conf", .run(config: "a.conf", logLevel: nil)),
        ("run --config a.conf", .run(config: "a.conf", logLevel: nil)),
        ("run", .run(config: "proxy.conf", logLevel: nil)),
        ("--log-level debug --config a.conf", .run(config: "a.conf", logLevel: "debug")),
        ("run --log-level=warn", .run(config: "proxy.conf", logLevel: "warn")),
        ("check", .check(config: "proxy.conf")),
        ("check --config /etc/m2m/proxy.conf", .check(config: "/etc/m2m/proxy.conf")),
        ("check --config=x", .check(config: "x")),
        ("--config a --config b", .run(config: "b", logLevel: nil)),
        ("check --config=a --config b", .check(config: "b")),
        ("--log-level debug --log-level warn", .run(config: "proxy.conf", logLevel: "warn")),
        ("--version", .version),
        ("check --version", .version),
    ])
    func parses(_ line: String, _ expected: CommandLineCommand) throws {
        #expect(try parse(line).get() == expected)
    }

    @Test func helpIsTheOverviewOrTheSubcommands() throws {
        guard case .help(let top) = try parse("--help").get(), case .help(let short) = try parse("-h").get(),
            case .help(let check) = try parse("check --help").get(), case .help(let run) = try parse("run -h").get(),
            case .help(let named) = try parse("help check").get(), case .help(let bare) = try parse("help").get()
        else {
            Issue.record("not help")
            return
        }
        #expect(top == short && top == bare)
        #expect(top.contains("SUBCOMMANDS:") && top.contains("check") && top.contains("--log-level"))
        #expect(check == named)
        #expect(check.contains("USAGE: m2m-proxy check [--config <file>]") && !check.contains("--log-level"))
        #expect(run.contains("--log-level <level>"))
    }

    @Test(arguments: [
        ("--bogus", "unknown option '--bogus'"),
        ("check --bogus=1", "unknown option '--bogus'"),
        ("frob", "unexpected argument 'frob' (subcommands: run, check)"),
        ("--config", "missing value for '--config <file>'"),
        ("--config --log-level", "missing value for '--config <file>'"),
        ("run --log-level", "missing value for '--log-level <level>'"),
        ("check --log-level debug", "unknown option '--log-level' (only 'run' takes it)"),
        ("check a.conf", "unexpected argument 'a.conf'"),
        ("help frob", "unknown subcommand 'frob' (subcommands: run, check)"),
        ("help run extra", "unexpected argument 'extra'"),
    ])
    func usageErrorsSayWhatIsWrong(_ line: String, _ message: String) {
        #expect(usageMessage(line) == message)
    }

    @Test func usageErrorTextNamesTheSubcommandsUsage() throws {
        guard case .failure(let e) = parse("check --bogus") else {
            Issue.record("accepted")
            return
        }
        #expect(e.text == """
            m2m-proxy: unknown option '--bogus'
            Usage: m2m-proxy check [--config <file>]
              See 'm2m-proxy check --help' for more information.

            """)
    }
}
