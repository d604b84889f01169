/// The command line of DESIGN.md §2, parsed by hand.
///
/// Why not swift-argument-parser: it was the last dependency that linked Foundation
/// (FoundationEssentials, for its JSON help dump) into the binary, for a command line of two
/// subcommands and two options. Usage errors keep its conventions: a line saying what is wrong,
/// the usage of the subcommand, exit status 64 (EX_USAGE); `--help` and `--version` print to
/// standard output and exit 0.
public enum CommandLineCommand: Equatable, Sendable {
    /// Serve (the default subcommand).
    case run(config: String, logLevel: String?)
    /// Validate a configuration file, like `nginx -t`.
    case check(config: String)
    /// Print this text to standard output and exit 0.
    case help(String)
    case version

    public static let defaultConfig = "proxy.conf"

    /// A command line that cannot be run: `message` and `usage` go to standard error, exit 64.
    public struct UsageError: Error, Equatable, Sendable {
        public let message: String
        public let usage: String
        public var text: String { "m2m-proxy: \(message)\n\(usage)\n  See 'm2m-proxy \(helpHint) --help' for more information.\n" }
        let helpHint: String
    }

    private enum Subcommand: String { case run, check }

    /// Parses the arguments after the program name.
    public static func parse(_ arguments: [String]) -> Result<CommandLineCommand, UsageError> {
        var rest = arguments[...]
        var sub = Subcommand.run
        if let first = rest.first, !first.hasPrefix("-") {
            if first == "help" {
                // `m2m-proxy help [run|check]`, as before.
                rest = rest.dropFirst()
                guard let name = rest.first else { return .success(.help(overview)) }
                guard let named = Subcommand(rawValue: name) else {
                    return .failure(usageError("unknown subcommand '\(name)' (subcommands: run, check)", .run))
                }
                guard rest.count == 1 else {
                    return .failure(usageError("unexpected argument '\(rest[rest.index(after: rest.startIndex)])'", named))
                }
                return .success(.help(help(named)))
            }
            guard let named = Subcommand(rawValue: first) else {
                return .failure(usageError("unexpected argument '\(first)' (subcommands: run, check)", .run))
            }
            sub = named
            rest = rest.dropFirst()
        }
        var config: String? = nil
        var logLevel: String? = nil
        while let arg = rest.popFirst() {
            // `--name value` or `--name=value`
            var name = Substring(arg)
            var inlineValue: String? = nil
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                name = arg[..<eq]
                inlineValue = String(arg[arg.index(after: eq)...])
            }
            switch name {
            case "-h", "--help":
                return .success(.help(arguments.first == sub.rawValue ? help(sub) : overview))
            case "--version":
                return .success(.version)
            case "--config", "--log-level":
                if name == "--log-level" && sub != .run {
                    return .failure(usageError("unknown option '--log-level' (only 'run' takes it)", sub))
                }
                guard let value = inlineValue ?? rest.popFirst(), inlineValue != nil || !value.hasPrefix("-") else {
                    return .failure(usageError("missing value for '\(name) \(name == "--config" ? "<file>" : "<level>")'", sub))
                }
                // Given twice, the last one counts (as swift-argument-parser, used before, did): a
                // wrapper's `exec m2m-proxy --config default.conf "$@"` can be overridden.
                if name == "--config" { config = value } else { logLevel = value }
            default:
                if arg.hasPrefix("-") {
                    return .failure(usageError("unknown option '\(name)'", sub))
                }
                return .failure(usageError("unexpected argument '\(arg)'", sub))
            }
        }
        switch sub {
        case .run: return .success(.run(config: config ?? defaultConfig, logLevel: logLevel))
        case .check: return .success(.check(config: config ?? defaultConfig))
        }
    }

    private static func usageError(_ message: String, _ sub: Subcommand) -> UsageError {
        UsageError(message: message, usage: "Usage: " + usage(sub), helpHint: sub.rawValue)
    }

    private static func usage(_ sub: Subcommand) -> String {
        switch sub {
        case .run: return "m2m-proxy [run] [--config <file>] [--log-level <level>]"
        case .check: return "m2m-proxy check [--config <file>]"
        }
    }

    static let overview = """
        OVERVIEW: Machine-to-machine token-injecting HTTP reverse proxy.

        USAGE: m2m-proxy [run] [--config <file>] [--log-level <level>]
               m2m-proxy check [--config <file>]

        SUBCOMMANDS:
          run (default)           Serve.
          check                   Validate a configuration file, like nginx -t. Exit 0
                                  valid, 1 invalid.

        OPTIONS:
          --config <file>         Configuration file (TOML). (default: proxy.conf)
          --log-level <level>     debug, info, warn or error (default: $M2M_LOG_LEVEL or
                                  info). run only.
          --version               Show the version.
          -h, --help              Show help information.

          See 'm2m-proxy help <subcommand>' for detailed help.

        """

    private static func help(_ sub: Subcommand) -> String {
        switch sub {
        case .run:
            return """
                OVERVIEW: Serve (the default).

                USAGE: \(usage(.run))

                OPTIONS:
                  --config <file>         Configuration file (TOML). (default: proxy.conf)
                  --log-level <level>     debug, info, warn or error (default: $M2M_LOG_LEVEL or
                                          info).
                  --version               Show the version.
                  -h, --help              Show help information.

                """
        case .check:
            return """
                OVERVIEW: Validate a configuration file, like nginx -t. Exit 0 valid, 1 invalid.

                USAGE: \(usage(.check))

                OPTIONS:
                  --config <file>         Configuration file (TOML). (default: proxy.conf)
                  --version               Show the version.
                  -h, --help              Show help information.

                """
        }
    }
}
