internal import CLibUV

/// Resolves every upstream host name of the configuration again every `dns_refresh_ms`, on the
/// control loop (libuv runs `getaddrinfo` on its thread pool), and publishes a name's addresses
/// (every A and AAAA record, sorted) to every loop when they changed. The data path never waits
/// for a lookup: loops keep serving the addresses they have. A failed or empty answer keeps the
/// last good one (a resolver hiccup must not empty a route); the next refresh tries again.
final class DNSRefresher {
    private let loop: UnsafeMutablePointer<uv_loop_t>
    private let resolver: Resolver
    private let log: Log
    private let publish: (String, [String]) -> Void
    private var hosts: [String] = []
    private var last: [String: [String]] = [:]
    private var pending: Set<String> = []
    private var timer: RepeatingTimer?
    private var intervalMs = 0

    init(loop: UnsafeMutablePointer<uv_loop_t>, log: Log, publish: @escaping (String, [String]) -> Void) {
        self.loop = loop
        resolver = Resolver(loop: loop)
        self.log = log
        self.publish = publish
    }

    /// The first answers, before any loop serves (blocking; a name that does not resolve yet is
    /// left to the refreshes): endpoints then exist from the first request on, instead of each
    /// name starting with one provisional endpoint whose connections the first answer replaces.
    func resolveNow(_ config: ProxyConfig) -> [String: [String]] {
        for host in Self.names(config) {
            let ips = resolver.resolveAllNow(host: host).sorted()
            if !ips.isEmpty { last[host] = ips }
        }
        return last
    }

    private static func names(_ config: ProxyConfig) -> [String] {
        var names: [String] = []
        for r in config.routes {
            for u in r.upstreams where SocketAddress(ip: u.host, port: u.port) == nil && !names.contains(u.host) {
                names.append(u.host)
            }
        }
        return names
    }

    /// The names of `config`'s upstreams (IP literals need no lookup); resolves them now and
    /// then every `limits.dns_refresh_ms`.
    func configure(_ config: ProxyConfig) {
        let names = Self.names(config)
        hosts = names
        if names.isEmpty {
            timer?.stop()
            timer = nil
        } else if timer == nil || intervalMs != config.limits.dnsRefreshMs {
            intervalMs = config.limits.dnsRefreshMs
            timer?.stop()
            timer = RepeatingTimer(loop: loop, everyMs: UInt64(intervalMs), unref: true) { [unowned self] in refresh() }
        }
        refresh()
    }

    func stop() {
        timer?.stop()
        timer = nil
        hosts = []
    }

    private func refresh() {
        for host in hosts where !pending.contains(host) {
            pending.insert(host)
            resolver.resolveAll(host: host) { [unowned self] result in
                pending.remove(host)
                guard hosts.contains(host) else { return }
                switch result {
                case .success(let found):
                    let ips = found.sorted()
                    guard last[host] != ips else { return }
                    if let before = last[host] {
                        log.info("upstream \(host) now resolves to \(ips.joined(separator: ", ")) (was \(before.joined(separator: ", ")))")
                    }
                    last[host] = ips
                    publish(host, ips)
                case .failure(let error):
                    if last[host] != nil {
                        log.warning("upstream \(host): DNS refresh failed (\(error.message)); keeping its last addresses")
                    }
                }
            }
        }
    }
}

@available(*, unavailable)
extension DNSRefresher: Sendable {}
