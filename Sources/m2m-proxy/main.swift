#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import M2MProxy

// The command line of DESIGN.md §2 (`CommandLineCommand` parses it). Thin on purpose: everything
// testable lives in M2MProxy.

switch CommandLineCommand.parse(Array(CommandLine.arguments.dropFirst())) {
case .failure(let usage):
    writeStderr(usage.text)
    exit(64)
case .success(.help(let text)):
    print(text, terminator: "")
case .success(.version):
    print(M2MProxyVersion.string)
case .success(.check(let config)):
    exit(checkConfig(config))
case .success(.run(let config, let logLevel)):
    exit(run(config: config, logLevel: logLevel))
}

func run(config: String, logLevel: String?) -> Int32 {
    let env = ProcessEnvironment.current()
    let levelName = logLevel ?? env["M2M_LOG_LEVEL"] ?? "info"
    guard let level = Log.Level(name: levelName) else {
        writeStderr("m2m-proxy: unknown log level '\(levelName)'\n")
        return 2
    }
    let result = ConfigLoader.load(path: config, environment: env)
    guard let cfg = result.config, result.errors.isEmpty else {
        let first = result.errors.first.map { "\($0)" } ?? "unknown error"
        let more = result.errors.count > 1 ? " (and \(result.errors.count - 1) more; run 'm2m-proxy check --config \(config)')" : ""
        writeStderr("m2m-proxy: invalid configuration \(config): \(first)\(more)\n")
        return 2
    }
    let log = Log(level: level)
    for w in result.warnings { log.warning("config: \(w)") }
    return ProxyServer.run(config: cfg, log: log) {
        ConfigLoader.load(path: config, environment: ProcessEnvironment.current())
    }
}

func checkConfig(_ config: String) -> Int32 {
    let result = ConfigLoader.load(path: config, environment: ProcessEnvironment.current())
    for w in result.warnings { print("warning: \(w)") }
    for e in result.errors { print("error: \(e)") }
    if result.errors.isEmpty {
        print("configuration \(config) is valid")
        return 0
    }
    print("configuration \(config) is invalid: \(result.errors.count) error(s)")
    return 1
}
