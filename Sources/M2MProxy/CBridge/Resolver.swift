internal import CLibUV
internal import Glibc

/// Asynchronous name resolution on libuv's thread pool (`uv_getaddrinfo`), for upstream and token
/// endpoint host names (docker-compose service names). IP literals never reach it.
/// Results are cached briefly so a burst of new upstream connections costs one lookup; the TTL is
/// short because containers get new addresses when they restart.
final class Resolver {
    private struct Entry {
        let address: SocketAddress
        let expiresAt: UInt64
    }

    private let loop: UnsafeMutablePointer<uv_loop_t>
    private var cache: [String: Entry] = [:]
    private let ttlMs: UInt64 = 5000

    init(loop: UnsafeMutablePointer<uv_loop_t>) { self.loop = loop }

    /// Calls `completion` exactly once, possibly synchronously.
    func resolve(host: String, port: UInt16, completion: @escaping (Result<SocketAddress, UVError>) -> Void) {
        if let a = SocketAddress(ip: host, port: port) {
            completion(.success(a))
            return
        }
        let now = uv_now(loop)
        if let e = cache[host], e.expiresAt > now {
            completion(.success(SocketAddress(copying: e.address, port: port)))
            return
        }
        lookUp(host, ResolveContext(resolver: self, host: host, port: port, completion: completion, all: nil))
    }

    /// Every address of `host` (A and AAAA, each once, in the resolver's order) as IP text, for
    /// the control loop's DNS refresh (`DNSRefresher`). Not cached. `completion` runs once.
    func resolveAll(host: String, completion: @escaping (Result<[String], UVError>) -> Void) {
        lookUp(host, ResolveContext(resolver: self, host: host, port: 0, completion: { _ in }, all: completion))
    }

    private func lookUp(_ host: String, _ ctx: ResolveContext) {
        let req = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        req.pointee.data = Unmanaged.passRetained(ctx).toOpaque()
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        let rc = uv_getaddrinfo(loop, req, resolverCallback, host, nil, &hints)
        if rc < 0 {
            Unmanaged<ResolveContext>.fromOpaque(req.pointee.data).release()
            req.deallocate()
            ctx.fail(UVError(rc))
        }
    }

    /// Every address of `host` now, blocking the calling thread (libuv's synchronous mode: no
    /// callback). Only before a loop serves (the first answer at start); [] when it fails.
    func resolveAllNow(host: String) -> [String] {
        var req = uv_getaddrinfo_t()
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        guard uv_getaddrinfo(loop, &req, nil, host, nil, &hints) == 0, let list = req.addrinfo else { return [] }
        defer { uv_freeaddrinfo(list) }
        return Self.ips(list)
    }

    /// The distinct IPv4 and IPv6 addresses of an addrinfo list, as text, in its order.
    private static func ips(_ first: UnsafeMutablePointer<addrinfo>) -> [String] {
        var ips: [String] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            let family = ai.pointee.ai_family
            if family == AF_INET || family == AF_INET6, let sa = ai.pointee.ai_addr {
                let ip = SocketAddress(sockaddr: sa, port: 0).ipString
                if !ips.contains(ip) { ips.append(ip) }
            }
            p = ai.pointee.ai_next
        }
        return ips
    }

    fileprivate func finish(_ ctx: ResolveContext, status: Int32, result: UnsafeMutablePointer<addrinfo>?) {
        defer { if let result { uv_freeaddrinfo(result) } }
        guard status == 0, let first = result else {
            ctx.fail(UVError(status == 0 ? Int32(UV_EAI_NONAME.rawValue) : status))
            return
        }
        if let all = ctx.all {
            let ips = Self.ips(first)
            all(ips.isEmpty ? .failure(UVError(Int32(UV_EAI_NONAME.rawValue))) : .success(ips))
            return
        }
        // Prefer IPv4: docker-compose networks are IPv4 by default and "localhost" may list ::1
        // first while services bind 0.0.0.0.
        var pick: UnsafeMutablePointer<addrinfo>? = nil
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            if ai.pointee.ai_family == AF_INET { pick = ai; break }
            if pick == nil, ai.pointee.ai_family == AF_INET6 { pick = ai }
            p = ai.pointee.ai_next
        }
        guard let ai = pick, let sa = ai.pointee.ai_addr else {
            ctx.completion(.failure(UVError(Int32(UV_EAI_NONAME.rawValue))))
            return
        }
        let address = SocketAddress(sockaddr: sa, port: ctx.port)
        cache[ctx.host] = Entry(address: address, expiresAt: uv_now(loop) + ttlMs)
        ctx.completion(.success(address))
    }
}

private final class ResolveContext {
    unowned let resolver: Resolver
    let host: String
    let port: UInt16
    let completion: (Result<SocketAddress, UVError>) -> Void
    /// Set for `resolveAll`: every address is wanted, not the preferred one.
    let all: ((Result<[String], UVError>) -> Void)?
    init(resolver: Resolver, host: String, port: UInt16, completion: @escaping (Result<SocketAddress, UVError>) -> Void,
         all: ((Result<[String], UVError>) -> Void)?) {
        self.resolver = resolver
        self.host = host
        self.port = port
        self.completion = completion
        self.all = all
    }

    func fail(_ error: UVError) {
        if let all { all(.failure(error)) } else { completion(.failure(error)) }
    }
}

private let resolverCallback: uv_getaddrinfo_cb = { req, status, res in
    let ctx = Unmanaged<ResolveContext>.fromOpaque(req!.pointee.data).takeRetainedValue()
    req!.deallocate()
    ctx.resolver.finish(ctx, status: status, result: res)
}

extension SocketAddress {
    init(copying other: SocketAddress, port: UInt16) {
        self = other.withSockAddr { SocketAddress(sockaddr: $0, port: port) }
    }
}

@available(*, unavailable)
extension Resolver: Sendable {}
