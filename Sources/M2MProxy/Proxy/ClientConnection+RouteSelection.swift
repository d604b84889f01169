/// Route selection, the second phase: which route serves the request, and whether the client
/// may use it (`server.allow_cidrs`, the route's `allow_cidrs`, `trusted_proxies`).
extension ClientConnection {
    /// Route selection: the first route matching host, path and method (`Router`), then
    /// `allow_cidrs`. Next: token acquisition, or upstream selection for routes without a credential.
    /// Inlined into validation's `beginRequest`, as it was before the phases had files of their
    /// own: as a call it cost ~19 instructions per request more (callgrind).
    @inline(__always)
    func selectRoute(path: ByteSpan, method: Int) {
        let host = Router.hostWithoutPort(authority)
        guard let ref = worker.routerRef!._withUnsafeGuaranteedRef({ $0.matchRef(host: host, path: path, method: method) }) else {
            respond(declaredBodyTooLarge ? .bodyTooLarge : .noRoute)
            return
        }
        routeRef = ref
        if declaredBodyTooLarge {
            respond(.bodyTooLarge)
            return
        }
        if worker.hasAccessControl && !clientAllowed(ref.takeUnretainedValue()) {
            respond(.forbidden)
            return
        }
        if let slot = ref._withUnsafeGuaranteedRef({ $0.tokenSlot }) {
            awaitToken(slot: slot)
        } else {
            connectUpstream()
        }
    }


    /// `server.allow_cidrs` and the route's `allow_cidrs` must both let the client in. Behind a
    /// trusted proxy the client is the rightmost X-Forwarded-For address that is not itself a
    /// trusted proxy (the leftmost ones are whatever the client claimed).
    func clientAllowed(_ r: CompiledRoute) -> Bool {
        let server = worker.config.server
        var client: IPAddress? = peer
        if !server.trustedProxies.isEmpty && server.trustedProxies.allows(peer) && xffCount > 0 {
            // Rare configuration: building strings here is acceptable.
            var list: [String] = []
            for i in 0..<requestHeaderCount where kinds[i] == .xForwardedFor {
                list += parser.headers[i].value.makeString().split(separator: ",").map { String($0).trimmingASCIIWhitespace() }
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
