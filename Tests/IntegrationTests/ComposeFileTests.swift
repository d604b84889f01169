import Foundation
import Testing

/// docker-compose.yml, its light variant and the Dockerfile, checked without a Docker engine:
/// `docker-compose config` validates and resolves the files (no engine needed), the proxy's
/// compose config must pass `m2m-proxy check` with the environment and secrets compose gives
/// it, every published port binds 127.0.0.1, and both Dockerfile stages take their packages
/// from scripts/install-deps.sh. Needs docker-compose 2.x: `scripts/install-deps.sh compose`
/// (scripts/test.sh installs it).
@Suite struct ComposeFileTests {
    static let composeFiles = ["docker-compose.yml", "deploy/compose/docker-compose.double.yml"]
    static let installHint = "run `sudo bash scripts/install-deps.sh compose` (scripts/test.sh does it)"

    // MARK: - docker-compose

    /// `$DOCKER_COMPOSE`, else `docker-compose` on PATH; it must be version 2.x.
    static func dockerComposeBinary() throws -> String {
        let env = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let p = env["DOCKER_COMPOSE"], !p.isEmpty { candidates.append(p) }
        for dir in (env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            candidates.append("\(dir)/docker-compose")
        }
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HarnessError("docker-compose is not installed (looked on PATH and at $DOCKER_COMPOSE): \(installHint)")
        }
        let dir = try TempDir("compose")
        let v = try run(binary, ["version", "--short"], in: dir)
        let version = v.stdout.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "v"))
        guard v.status == 0, let major = Int(version.prefix(while: { $0.isNumber })), major >= 2 else {
            throw HarnessError(
                "\(binary) is not docker-compose 2.x (version: '\(version)', status \(v.status), stderr: \(v.stderr.prefix(300))): \(installHint)")
        }
        return binary
    }

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ executable: String, _ arguments: [String], in dir: TempDir, timeout: Double = 60) throws -> Outcome {
        let name = "\(URL(fileURLWithPath: executable).lastPathComponent)-\(abs(arguments.hashValue))"
        let p = try ChildProcess(name: name, executable: executable, arguments: arguments, in: dir)
        guard let status = p.waitForExit(timeout: timeout) else {
            p.stop()
            throw HarnessError("\(executable) \(arguments.joined(separator: " ")) did not exit within \(timeout) s")
        }
        return Outcome(status: status, stdout: p.stdout, stderr: p.stderr)
    }

    static func path(_ relative: String) -> String { TestPaths.packageRoot.appendingPathComponent(relative).path }

    /// `docker-compose -f FILE ARGS…`; relative paths in FILE resolve against FILE's directory.
    static func compose(_ file: String, _ arguments: [String], in dir: TempDir) throws -> Outcome {
        try run(try dockerComposeBinary(), ["-f", path(file)] + arguments, in: dir)
    }

    /// The resolved compose model (`docker-compose config --format json`).
    static func model(_ file: String, in dir: TempDir) throws -> [String: Any] {
        let o = try compose(file, ["config", "--format", "json"], in: dir)
        guard o.status == 0 else {
            throw HarnessError("docker-compose config --format json on \(file) failed (\(o.status)): \(o.stderr.prefix(2000))")
        }
        guard let json = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any] else {
            throw HarnessError("docker-compose config --format json on \(file): not a JSON object")
        }
        return json
    }

    static func services(_ model: [String: Any]) -> [String: [String: Any]] {
        (model["services"] as? [String: Any] ?? [:]).compactMapValues { $0 as? [String: Any] }
    }

    /// `config` output escapes `$` as `$$` (so that it is a valid compose file again); undo that.
    static func unescape(_ s: String) -> String { s.replacingOccurrences(of: "$$", with: "$") }

    // MARK: - compose files

    @Test(arguments: composeFiles)
    func composeFileIsValid(file: String) throws {
        let dir = try TempDir("compose")
        let o = try Self.compose(file, ["config", "-q"], in: dir)
        #expect(o.status == 0, "docker-compose -f \(file) config -q: status \(o.status), stderr: \(o.stderr)")
    }

    /// The proxy service's config, as compose mounts it at /etc/m2m-proxy/proxy.conf, passes
    /// `m2m-proxy check` with the service's environment, and the `/run/secrets/NAME` files it
    /// names are secrets the service mounts (replaced by their host files for the check).
    @Test(arguments: composeFiles)
    func proxyServiceConfigPassesCheck(file: String) throws {
        let dir = try TempDir("compose")
        let model = try Self.model(file, in: dir)
        let proxy = try #require(Self.services(model)["m2m-proxy"], "\(file) has no m2m-proxy service")

        let volumes = proxy["volumes"] as? [[String: Any]] ?? []
        let mount = try #require(
            volumes.first { $0["target"] as? String == "/etc/m2m-proxy/proxy.conf" },
            "\(file): m2m-proxy mounts nothing at /etc/m2m-proxy/proxy.conf (the image's CMD reads it)")
        let source = try #require(mount["source"] as? String, "\(file): proxy.conf mount has no source")
        var toml = try String(contentsOfFile: source, encoding: .utf8)

        let declared = model["secrets"] as? [String: Any] ?? [:]
        for secret in proxy["secrets"] as? [[String: Any]] ?? [] {
            let name = try #require(secret["source"] as? String)
            let target = secret["target"] as? String ?? "/run/secrets/\(name)"
            let hostFile = try #require(
                (declared[name] as? [String: Any])?["file"] as? String, "\(file): secret \(name) has no file")
            #expect(FileManager.default.isReadableFile(atPath: hostFile), "\(file): secret file \(hostFile) missing")
            toml = toml.replacingOccurrences(of: "\"\(target)\"", with: "\"\(hostFile)\"")
        }
        #expect(!toml.contains("/run/secrets/"),
                "\(source) reads a /run/secrets/ file that \(file) does not mount into m2m-proxy")

        var environment: [String: String] = [:]
        for (key, value) in proxy["environment"] as? [String: Any] ?? [:] {
            if let value = value as? String { environment[key] = Self.unescape(value) }
        }
        let configPath = try dir.write("proxy.conf", toml)
        let o = try ProxyProcess.runToExit(["check", "--config", configPath], in: dir, environment: environment)
        #expect(o.status == 0, "m2m-proxy check on \(source) (env \(environment.keys.sorted())): stdout: \(o.stdout) stderr: \(o.stderr)")
    }

    /// Whoever reaches the proxy acts with the M2M app's rights: nothing is published beyond loopback.
    @Test(arguments: composeFiles)
    func everyPublishedPortBindsLoopback(file: String) throws {
        let dir = try TempDir("compose")
        var published = 0
        for (name, service) in Self.services(try Self.model(file, in: dir)) {
            for port in service["ports"] as? [[String: Any]] ?? [] {
                published += 1
                let hostIP = port["host_ip"] as? String ?? "(all interfaces)"
                #expect(hostIP == "127.0.0.1", "\(file): service \(name) publishes \(port["target"] ?? "?") on \(hostIP)")
            }
        }
        #expect(published > 0, "\(file) publishes no port at all (the proxy's 8080 is expected)")
    }

    /// `docker compose up --scale upstream=3` works: the upstream service has no fixed container
    /// name and publishes no host port (replicas would clash), and the proxy's route points at
    /// the service name, so every replica's address becomes an endpoint (README "Upstream
    /// endpoints").
    @Test(arguments: composeFiles)
    func upstreamServiceCanBeScaled(file: String) throws {
        let dir = try TempDir("compose")
        let model = try Self.model(file, in: dir)
        let upstream = try #require(Self.services(model)["upstream"], "\(file) has no upstream service")
        #expect(upstream["container_name"] == nil, "\(file): a container_name prevents --scale upstream=N")
        let hostPorts = (upstream["ports"] as? [[String: Any]] ?? []).compactMap { $0["published"] }
        #expect(hostPorts.isEmpty, "\(file): a published host port prevents --scale upstream=N")
        let proxy = try #require(Self.services(model)["m2m-proxy"])
        let mount = try #require((proxy["volumes"] as? [[String: Any]] ?? []).first { $0["target"] as? String == "/etc/m2m-proxy/proxy.conf" })
        let toml = try String(contentsOfFile: try #require(mount["source"] as? String), encoding: .utf8)
        #expect(toml.contains("upstream = \"http://upstream:8000\""), "\(file): the route must name the service, not one replica")
    }

    /// Every `condition: service_healthy` dependency has a healthcheck to become healthy with.
    @Test(arguments: composeFiles)
    func healthyDependenciesHaveHealthchecks(file: String) throws {
        let dir = try TempDir("compose")
        let services = Self.services(try Self.model(file, in: dir))
        for (name, service) in services {
            for (dependency, spec) in service["depends_on"] as? [String: Any] ?? [:] {
                guard (spec as? [String: Any])?["condition"] as? String == "service_healthy" else { continue }
                let check = services[dependency]?["healthcheck"] as? [String: Any]
                #expect(check?["test"] != nil && check?["disable"] as? Bool != true,
                        "\(file): \(name) waits for \(dependency) to be healthy, but \(dependency) has no healthcheck")
            }
        }
    }

    /// The top-level file runs a real, pinned Logto and the proxy starts only after the demo M2M
    /// app is provisioned.
    @Test func topLevelFileUsesProvisionedLogto() throws {
        let dir = try TempDir("compose")
        let services = Self.services(try Self.model("docker-compose.yml", in: dir))
        let image = try #require(services["logto"]?["image"] as? String, "docker-compose.yml has no logto service")
        let tag = image.split(separator: ":").last.map(String.init) ?? ""
        #expect(image.hasPrefix("svhd/logto:") && tag.first?.isNumber == true,
                "logto image must be svhd/logto with a pinned version tag, is \(image)")

        func condition(_ service: String, _ dependency: String) -> String? {
            ((services[service]?["depends_on"] as? [String: Any])?[dependency] as? [String: Any])?["condition"] as? String
        }
        #expect(condition("logto", "postgres") == "service_healthy")
        #expect(condition("logto-provision", "logto") == "service_healthy")
        #expect(condition("m2m-proxy", "logto-provision") == "service_completed_successfully")

        let provisionMounts = (services["logto-provision"]?["volumes"] as? [[String: Any]] ?? []).compactMap { $0["source"] as? String }
        let sql = try #require(provisionMounts.first { $0.hasSuffix(".sql") }, "logto-provision mounts no SQL file")
        #expect(sql.hasPrefix(TestPaths.packageRoot.path + "/deploy/compose/"),
                "the provisioning SQL must live in the repository under deploy/compose/, is \(sql)")
        // The provisioner reads the secret file itself, with the proxy's rule (ProvisionSQLTests);
        // a shell's $(cat …) strips every trailing newline and keeps a "\r".
        let entrypoint = Self.unescape((services["logto-provision"]?["entrypoint"] as? [String] ?? []).joined(separator: " "))
        #expect(entrypoint.contains("app_secret_file=/run/secrets/logto_app_secret"), "\(entrypoint)")
        #expect(!entrypoint.contains("cat /run/secrets/logto_app_secret"), "\(entrypoint)")
    }

    /// Two proxy replicas share one valkey (official image) through `[token_store]`: same
    /// config, same image, each published on its own loopback port, the store's password a
    /// compose secret both mount.
    @Test func topLevelFileRunsTwoReplicasSharingValkey() throws {
        let dir = try TempDir("compose")
        let model = try Self.model("docker-compose.yml", in: dir)
        let services = Self.services(model)
        let valkey = try #require(services["valkey"], "docker-compose.yml has no valkey service")
        let image = valkey["image"] as? String ?? ""
        #expect(image.hasPrefix("valkey/valkey:") && image.split(separator: ":").last?.first?.isNumber == true,
                "valkey image must be valkey/valkey with a pinned version tag, is \(image)")
        #expect((valkey["healthcheck"] as? [String: Any])?["test"] != nil)
        var hostPorts: [String] = []
        for name in ["m2m-proxy", "m2m-proxy-2"] {
            let proxy = try #require(services[name], "docker-compose.yml has no \(name) service")
            let conf = (proxy["volumes"] as? [[String: Any]] ?? []).first { $0["target"] as? String == "/etc/m2m-proxy/proxy.conf" }
            let source = try #require(conf?["source"] as? String, "\(name) mounts no proxy.conf")
            let toml = try String(contentsOfFile: source, encoding: .utf8)
            #expect(toml.contains("[token_store]") && toml.contains("redis://valkey:6379"), "\(source) does not use the valkey service")
            #expect((proxy["secrets"] as? [[String: Any]] ?? []).contains { $0["source"] as? String == "valkey_password" })
            #expect(((proxy["depends_on"] as? [String: Any])?["valkey"] as? [String: Any])?["condition"] as? String == "service_healthy")
            hostPorts += (proxy["ports"] as? [[String: Any]] ?? []).compactMap { $0["published"] as? String }
        }
        #expect(Set(hostPorts) == ["8080", "8081"], "published ports: \(hostPorts)")
    }

    // MARK: - Dockerfile

    /// Dockerfile instructions by stage name (`FROM … AS name`), continuation lines joined.
    static func dockerfileStages() throws -> [String: [String]] {
        let text = try String(contentsOfFile: path("Dockerfile"), encoding: .utf8)
        var instructions: [String] = []
        var current = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if current.isEmpty && (line.isEmpty || line.hasPrefix("#")) { continue }
            if line.hasPrefix("#") { continue }   // comment inside a continued instruction
            if line.hasSuffix("\\") {
                current += line.dropLast() + " "
            } else {
                instructions.append(current + line)
                current = ""
            }
        }
        var stages: [String: [String]] = [:]
        var stage: String?
        for instruction in instructions {
            let words = instruction.split(separator: " ").map(String.init)
            if words.first?.uppercased() == "FROM" {
                stage = words.count >= 4 && words[2].uppercased() == "AS" ? words[3] : "stage\(stages.count)"
                stages[stage!] = [instruction]
            } else if let stage {
                stages[stage, default: []].append(instruction)
            }
        }
        return stages
    }

    @Test func dockerfileStagesInstallPackagesWithTheInstallScript() throws {
        let stages = try Self.dockerfileStages()
        for (stage, group) in [("build", "build"), ("runtime", "runtime")] {
            let instructions = try #require(stages[stage], "Dockerfile has no stage `AS \(stage)` (stages: \(stages.keys.sorted()))")
            let runs = instructions.filter { $0.uppercased().hasPrefix("RUN ") }
            #expect(runs.contains { $0.range(of: #"install-deps\.sh\s+\#(group)\b"#, options: .regularExpression) != nil },
                    "Dockerfile stage \(stage) does not run scripts/install-deps.sh \(group); its RUNs: \(runs)")
            #expect(!runs.contains { $0.contains("apt-get install") },
                    "Dockerfile stage \(stage) installs packages itself instead of through install-deps.sh")
        }
        let runtime = stages["runtime"] ?? []
        let user = runtime.last { $0.uppercased().hasPrefix("USER ") }?.split(separator: " ").dropFirst().first.map(String.init)
        #expect(user != nil && !["root", "0", "0:0", "root:root"].contains(user!), "runtime stage must run as a non-root USER, is \(user ?? "unset")")
        #expect(runtime.contains { $0.uppercased().hasPrefix("HEALTHCHECK ") && $0.contains("CMD") },
                "runtime stage has no HEALTHCHECK")
    }

    /// The runtime stage adds exactly these packages to debian:bookworm-slim.
    @Test func runtimeGroupIsExactlyTheImagePackages() throws {
        let dir = try TempDir("compose")
        let o = try Self.run("/bin/bash", [Self.path("scripts/install-deps.sh"), "--list", "runtime"], in: dir)
        #expect(o.status == 0, "install-deps.sh --list runtime: \(o.stderr)")
        let packages = Set(o.stdout.split(separator: "\n").map { String($0.split(separator: "/").first ?? $0) })
        #expect(packages == ["libuv1", "libllhttp9.2", "libssl3", "libhiredis0.14", "libnghttp2-14", "ca-certificates"], "runtime group: \(packages.sorted())")
    }

    /// The image's HEALTHCHECK script (bash /dev/tcp, no curl in the image): a 200 from
    /// GET /healthz is healthy (exit 0), a closed admin port is not (exit 1, one line why).
    @Test func healthcheckScriptWantsA200FromHealthz() throws {
        let dir = try TempDir("compose")
        let script = Self.path("deploy/docker/healthcheck.sh")
        let upstream = try UpstreamFixture(in: dir)   // answers 200 on /healthz
        let up = try ChildProcess(name: "healthcheck-up", executable: "/bin/bash", arguments: [script], in: dir,
                                  environment: ["M2M_HEALTHCHECK_ADDR": "127.0.0.1:\(upstream.port)"])
        #expect(up.waitForExit(timeout: 10) == 0, "stderr: \(up.stderr)")
        #expect(try upstream.lastRequest().path == "/healthz")

        let closed = try FreePort.pick()
        let down = try ChildProcess(name: "healthcheck-down", executable: "/bin/bash", arguments: [script], in: dir,
                                    environment: ["M2M_HEALTHCHECK_ADDR": "127.0.0.1:\(closed)"])
        #expect(down.waitForExit(timeout: 10) == 1, "stderr: \(down.stderr)")
        #expect(down.stderr.contains("cannot connect"), "stderr: \(down.stderr)")
    }
}
