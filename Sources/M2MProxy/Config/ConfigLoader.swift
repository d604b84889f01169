/// Turns `proxy.conf` (TOML, DESIGN.md §3) into a frozen `ProxyConfig`, or into a list of
/// problems that each name the offending key.
///
/// Parse, validate, then freeze (STYLE.md §8): every key has one definition, one default and one
/// validator in the `ConfigLoader+Section.swift` files, and all problems are collected rather than
/// stopping at the first, so `m2m-proxy check` shows everything in one run.
public enum ConfigLoader {
    /// Reads and validates the file. Never throws, never crashes on bad input.
    ///
    /// `*_file` paths inside the config are used as written, i.e. relative ones are relative to
    /// the process's working directory, not to the config file.
    public static func load(path: String, environment: [String: String]) -> ConfigLoadResult {
        switch ConfigFileReader.readAll(path: path, maxBytes: ConfigFileReader.maxConfigBytes) {
        case .failure(let error):
            return failure(ConfigProblem(keyPath: "", message: "cannot read config file '\(path)': \(error.message)"))
        case .success(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return failure(ConfigProblem(keyPath: path, message: "is not valid UTF-8"))
            }
            return parse(text: text, environment: environment, sourceName: path)
        }
    }

    /// Same as `load`, from TOML text (for unit tests and for callers that read the file themselves).
    public static func parse(text: String, environment: [String: String]) -> ConfigLoadResult {
        parse(text: text, environment: environment, sourceName: "")
    }

    /// - Parameter sourceName: the file name, used as the key path of TOML syntax errors.
    static func parse(text: String, environment: [String: String], sourceName: String) -> ConfigLoadResult {
        // A NUL or any other control character is a syntax error like the rest (TOMLParser).
        let root: TOMLTable
        do {
            root = try TOMLParser.parse(text)
        } catch {
            return failure(ConfigProblem(keyPath: sourceName, message: error.description))
        }

        let diagnostics = ConfigDiagnostics()
        let reader = TableReader(table: root, keyPath: "", environment: environment, diagnostics: diagnostics)
        let server = decodeServer(reader.section("server"))
        let limits = decodeLimits(reader.section("limits"))
        let credentials = decodeCredentials(reader.section("credential"))
        let routes = decodeRoutes(reader, credentials: credentials)
        let tokenStore = decodeTokenStore(reader.section("token_store"))
        reader.reportUnknownKeys()

        let resolvedCredentials = credentials.configs.compactMap { $0 }
        let resolvedRoutes = routes.compactMap { $0 }
        guard !diagnostics.hasErrors, let server, let limits, !tokenStore.failed,
              resolvedCredentials.count == credentials.configs.count, resolvedRoutes.count == routes.count
        else {
            if !diagnostics.hasErrors {
                // A decoder returned nil without saying why: a bug, but never a crash.
                diagnostics.error("", "configuration is invalid")
            }
            return ConfigLoadResult(config: nil, errors: diagnostics.errors, warnings: diagnostics.warnings)
        }
        for warning in RouteShadowChecker.warnings(for: resolvedRoutes) {
            diagnostics.warning(warning.keyPath, warning.message)
        }
        // Anyone who reaches a token-injecting route acts with the M2M app's rights: say so when
        // such a route is open on a non-loopback address with no address restriction at all.
        if server.allowCIDRs == nil, let exposed = server.listen.first(where: { !(IPAddress.parse($0.host)?.isLoopback ?? false) }) {
            for (i, r) in resolvedRoutes.enumerated() where r.credentialIndex != nil && r.allowCIDRs == nil {
                diagnostics.warning(
                    RouteKeyPath.of(index: i, route: r),
                    "injects a token and is reachable on \(exposed) with no allow_cidrs: anyone who can connect acts with the M2M app's rights")
            }
        }
        let config = ProxyConfig(server: server, limits: limits, credentials: resolvedCredentials, routes: resolvedRoutes, tokenStore: tokenStore.config)
        return ConfigLoadResult(config: config, errors: [], warnings: diagnostics.warnings)
    }

    private static func failure(_ problem: ConfigProblem) -> ConfigLoadResult {
        ConfigLoadResult(config: nil, errors: [problem], warnings: [])
    }
}
