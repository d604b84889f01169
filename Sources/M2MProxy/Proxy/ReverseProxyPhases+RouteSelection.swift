/// Route selection, the second part of `requestFilter`: which route serves the request, and
/// whether the client may use it (`server.allow_cidrs`, the route's `allow_cidrs`,
/// `trusted_proxies`). Next, in the driver: token acquisition, or upstream selection for routes
/// without a credential.
extension ReverseProxyPhases {
    /// The first route matching host, path and method (`Router`), then `allow_cidrs`; nil with
    /// the route in `ctx.routeRef`.
    @inline(__always)
    func selectRoute<E: ProxyEnvironment>(_ ctx: inout RequestContext, _ head: RequestHead, _ env: E, path: ByteSpan) -> ProxyError? {
        let host = Router.hostWithoutPort(ctx.authority)
        let method = ctx.methodCode
        let declaredBodyTooLarge = head.parser.hasContentLength && head.parser.contentLength > UInt64(env.limits.maxBodyBytes)
        guard let ref = env.routerRef!._withUnsafeGuaranteedRef({ $0.matchRef(host: host, path: path, method: method) }) else {
            // A declared Content-Length over max_body_bytes, refused before anything is
            // forwarded (checked here, so the 413 is counted under the route it matched).
            return declaredBodyTooLarge ? .bodyTooLarge : .noRoute
        }
        ctx.routeRef = ref
        if declaredBodyTooLarge {
            return .bodyTooLarge
        }
        if env.hasAccessControl && !clientAllowed(ref.takeUnretainedValue(), ctx, head, env) {
            return .forbidden
        }
        return nil
    }

    /// `server.allow_cidrs` and the route's `allow_cidrs` must both let the client in. Behind a
    /// trusted proxy the client is the rightmost X-Forwarded-For address that is not itself a
    /// trusted proxy (the leftmost ones are whatever the client claimed).
    func clientAllowed<E: ProxyEnvironment>(_ r: CompiledRoute, _ ctx: RequestContext, _ head: RequestHead, _ env: E) -> Bool {
        let server = env.config.server
        let peer = ctx.peer
        var client: IPAddress? = peer
        if !server.trustedProxies.isEmpty && server.trustedProxies.allows(peer) && ctx.xffCount > 0 {
            // Rare configuration: building strings here is acceptable.
            var list: [String] = []
            for i in 0..<ctx.requestHeaderCount where head.kinds[i] == .xForwardedFor {
                list += head.parser.headers[i].value.makeString().split(separator: ",").map { String($0).trimmingASCIIWhitespace() }
            }
            client = nil
            for entry in list.reversed() {
                guard let a = IPAddress.parse(entry) else { break }
                client = a
                if !server.trustedProxies.allows(a) { break }
            }
        }
        guard let client else { return false }
        if let allow = server.allowCIDRs, !allow.allows(client) { return false }
        if let allow = r.config.allowCIDRs, !allow.allows(client) { return false }
        return true
    }
}
