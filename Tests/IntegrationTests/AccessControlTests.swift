import Testing

/// Issue 8 §2: who may use the proxy's identity. `allow_cidrs` on the server and on routes, with
/// X-Forwarded-For believed only from trusted proxies.
@Suite struct AccessControlTests {
    private static func bed(server: [String: String], routeAllow: String? = nil) throws -> ProxyTestBed {
        try ProxyTestBed(label: "acl") { c, up, tok in
            for (k, v) in server { c.server[k] = v }
            c.credentials = [ProxyTestBed.credential(tok)]
            c.routes = [
                .init(name: "open", pathPrefix: "/open", upstream: up.url),
                .init(name: "api", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"],
                      allowCIDRs: routeAllow),
            ]
        }
    }

    @Test func serverAllowListRefusesOtherClientsWith403() throws {
        let bed = try Self.bed(server: ["allow_cidrs": "[\"10.0.0.0/8\"]"])
        let c = try bed.connect()
        try c.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 403)
        #expect(r.json?["error"] as? String == "forbidden")
        // The connection stays usable, and nothing reached the upstream or the token endpoint.
        try c.send("GET /open/y HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try c.readResponse().status == 403)
        #expect(try bed.upstream.requests().isEmpty)
        #expect(try bed.tokens.tokenRequestCount() == 0)
    }

    @Test func loopbackAllowedAndRouteListNarrowsFurther() throws {
        let bed = try Self.bed(server: ["allow_cidrs": "[\"127.0.0.0/8\", \"::1\"]"], routeAllow: "[\"10.9.9.9\"]")
        #expect(try bed.get("/open/x").status == 200)
        #expect(try bed.get("/api/x").status == 403)
    }

    /// X-Forwarded-For is a client's claim unless the peer is a trusted proxy.
    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() throws {
        let untrusted = try Self.bed(server: ["allow_cidrs": "[\"10.0.0.0/8\"]"])
        #expect(try untrusted.get("/x", extraHeaders: "X-Forwarded-For: 10.1.1.1\r\n").status == 403)

        let trusted = try Self.bed(server: ["allow_cidrs": "[\"10.0.0.0/8\"]", "trusted_proxies": "[\"127.0.0.1\"]"])
        #expect(try trusted.get("/x", extraHeaders: "X-Forwarded-For: 10.1.1.1\r\n").status == 200)
        // The rightmost untrusted address counts: a spoofed left entry does not help.
        #expect(try trusted.get("/x", extraHeaders: "X-Forwarded-For: 10.1.1.1, 203.0.113.7\r\n").status == 403)
        #expect(try trusted.get("/x").status == 403)  // the trusted proxy itself is not in the list
    }
}
