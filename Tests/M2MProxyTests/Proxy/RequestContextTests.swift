import Testing
@testable import M2MProxy

@Suite struct RequestContextTests {
    /// `reset()` goes field by field (to keep the token tables' storage): it must leave nothing
    /// of the previous request behind. Compared field by field (`Mirror`) with a fresh context,
    /// except the Connection-token slots, which `reset()` keeps on purpose (their count is 0),
    /// and the peer (the connection's).
    @Test func resetEqualsAFreshContext() {
        let bytes = Array("close, x-a".utf8)
        let route = ProxyDriverTests.route(tokenSlot: 1)
        withExtendedLifetime(route) { bytes.withUnsafeBytes { b in
            let span = ByteSpan(base: b.baseAddress!, count: b.count)
            var used = RequestContext()
            // Every field away from its default.
            used.routeRef = Unmanaged.passUnretained(route)
            used.requestActive = true
            used.keepAlive = false
            used.http10 = true
            used.isHEAD = true
            used.hasBody = true
            used.bodyDone = true
            used.bodyBytes = 9
            used.expectContinue = true
            used.absoluteForm = true
            used.requestHeaderCount = 3
            used.hostHeader = span
            used.bufferedBytesProcessed = true
            used.requestBytesSent = true
            used.methodCode = 3
            used.sentToken = 77
            used.tokenWaitDeadline = 5
            used.replayed = true
            used.tokenJustAcquired = true
            used.upgradeRequested = true
            used.absoluteQueryOnly = true
            used.authority = span
            used.target = span
            used.xffCount = 2
            used.bodyFromSocket = true
            used.retried = true
            used.failover = UpstreamFailover(tries: 2, deadline: 9)
            used.responseHeadSent = true
            used.responseHeadStart = 4
            used.responseHeadParsed = 5
            used.responseNeedsEOF = true
            used.clientWillClose = true
            used.dechunk = true
            used.upstreamPausedForClient = true
            used.clientPausedForUpstream = true
            used.connectionTokens.add(value: span)
            used.responseConnectionTokens.add(value: span)
            used.peer = IPAddress.parse("192.0.2.7")!
            used.reset()
            #expect(used.peer == IPAddress.parse("192.0.2.7")!, "the connection's peer is kept")
            used.peer = RequestContext().peer
            #expect(used.connectionTokens.count == 0 && !used.connectionTokens.close)
            #expect(used.responseConnectionTokens.count == 0)
            // The same as a fresh value once the kept slots are cleared the same way.
            used.connectionTokens = ConnectionTokens()
            used.responseConnectionTokens = ConnectionTokens()
            let fields = Self.fields(used)
            #expect(fields.count >= 36)
            #expect(fields == Self.fields(RequestContext()), "a field of RequestContext is missing from reset()")
        } }
    }

    static func fields(_ c: RequestContext) -> [String] {
        Mirror(reflecting: c).children.map { "\($0.label ?? "?")=\($0.value)" }
    }
}
