import ArgumentParser
import M2MProxy

/// The command line of DESIGN.md §2. Thin on purpose: everything testable lives in M2MProxy.
@main
struct M2MProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "m2m-proxy",
        abstract: "Machine-to-machine token-injecting HTTP reverse proxy.",
        version: M2MProxyVersion.string,
        subcommands: [Run.self, Check.self],
        defaultSubcommand: Run.self
    )
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve (the default).")

    @Option(name: .long, help: "Configuration file (TOML).")
    var config: String = "proxy.conf"

    @Option(name: .long, help: "debug, info, warn or error (default: $M2M_LOG_LEVEL or info).")
    var logLevel: String?

    func run() throws {
        let env = ProcessEnvironment.current()
        let levelName = logLevel ?? env["M2M_LOG_LEVEL"] ?? "info"
        guard let level = Log.Level(name: levelName) else {
            writeStderr("m2m-proxy: unknown log level '\(levelName)'\n")
            throw ExitCode(2)
        }
        let result = ConfigLoader.load(path: config, environment: env)
        guard let cfg = result.config, result.errors.isEmpty else {
            let first = result.errors.first.map { "\($0)" } ?? "unknown error"
            let more = result.errors.count > 1 ? " (and \(result.errors.count - 1) more; run 'm2m-proxy check --config \(config)')" : ""
            writeStderr("m2m-proxy: invalid configuration \(config): \(first)\(more)\n")
            throw ExitCode(2)
        }
        let log = Log(level: level)
        for w in result.warnings { log.warning("config: \(w)") }
        let path = config
        let status = ProxyServer.run(config: cfg, log: log) {
            ConfigLoader.load(path: path, environment: ProcessEnvironment.current())
        }
        if status != 0 { throw ExitCode(status) }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate a configuration file, like nginx -t. Exit 0 valid, 1 invalid.")

    @Option(name: .long, help: "Configuration file (TOML).")
    var config: String = "proxy.conf"

    func run() throws {
        let result = ConfigLoader.load(path: config, environment: ProcessEnvironment.current())
        for w in result.warnings { print("warning: \(w)") }
        for e in result.errors { print("error: \(e)") }
        if result.errors.isEmpty {
            print("configuration \(config) is valid")
        } else {
            print("configuration \(config) is invalid: \(result.errors.count) error(s)")
            throw ExitCode(1)
        }
    }
}
