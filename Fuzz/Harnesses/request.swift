// libFuzzer target: request bytes through HTTPParser(kind: .request), driven the way
// ClientConnection drives it, plus the head checks that need no socket (HeaderKind.classify,
// ConnectionTokens, isPlainChunked, Router.hostWithoutPort, Router.match).
//
// Input: byte 0 picks how the stream is cut into reads (see `Reads`); the rest is what a client
// sends on one connection. Like the proxy, head bytes are appended to one stable head buffer and
// parsed from `headParsed`; after the head, the bytes already buffered are parsed in place
// (`fromSocket: false`) and later reads arrive in ONE reused read buffer at offset 0, as libuv
// hands them over from `Worker.readBuffer`. After a message, the rest of that read is copied to
// the head buffer as the next pipelined request.
//
// Invariants: no crash / ASan report; offsets within what was passed; every head span inside the
// head; `hostWithoutPort` a prefix of its input; a matched route's prefix a segment prefix of the
// path; and what the proxy decides per message (head verdict, route, forbidden trailer, body
// size) is the same whether the connection delivered the bytes in one read or in many.
// `splitTarget` is a ClientConnection method: the target is split here the same way; the
// dot-segment check (`RequestValidation.hasDotSegment`) has its own unit tests.
@testable import M2MProxy
import Glibc

private let router: Router = {
    let up = EndpointURL(scheme: .http, host: "127.0.0.1", port: 8080, path: "/v1", authority: "127.0.0.1:8080")
    func route(_ i: Int, _ host: HostMatch, _ prefix: String, _ methods: [String]?) -> CompiledRoute {
        let cfg = RouteConfig(
            name: "r\(i)", host: host, pathPrefix: prefix, methods: methods, upstream: up, credentialIndex: nil,
            resource: nil, scopes: [], organizationID: nil, preserveHost: false, tlsCAFile: nil)
        return CompiledRoute(index: i, config: cfg, upstreamSlot: 0, tokenSlot: nil)
    }
    return Router(routes: [
        route(0, .exact("shop.internal"), "/products", ["GET", "HEAD"]),
        route(1, .suffix(".example.com"), "/api/v2", nil),
        route(2, .any, "/admin", ["POST"]),
        route(3, .exact("[::1]"), "/", nil),
    ])
}()

/// What the proxy decided about one message; must not depend on how reads were cut.
private struct Outcome: Equatable {
    var verdict = ""
    var route = -1
    var forbiddenTrailer = false
    var bodyBytes: UInt64 = 0
    var complete = false

    /// Equal, except that a head refused as malformed (400) may be refused for too many headers
    /// (431) when read in pieces: llhttp reports a header name at a read boundary before it has
    /// seen the bad byte further on, so the 129th header counts first. Both refuse and close;
    /// which reason wins is not a framing decision (found by a 240 s campaign).
    func sameDecision(as other: Outcome) -> Bool {
        if self == other { return true }
        let refusals = [verdict, other.verdict].filter { $0 == "431" || $0.hasPrefix("400 ") }
        var a = self, b = other
        a.verdict = ""
        b.verdict = ""
        return refusals.count == 2 && a == b
    }
}

private struct Reads {
    var state: UInt32
    let maxRead: Int
    init(_ selector: UInt8?) {
        guard let s = selector else { state = 1; maxRead = 1 << 30; return }
        state = UInt32(s) | 0x100
        // 0x80 set: tiny reads (1...8 bytes) that cut every field; else up to 64 bytes; 0 = all at once.
        maxRead = s == 0 ? 1 << 30 : (s & 0x80 != 0 ? 8 : 64)
    }
    mutating func next(_ left: Int) -> Int {
        state ^= state << 13; state ^= state >> 17; state ^= state << 5
        return min(left, 1 + Int(state % UInt32(min(maxRead, 1 << 20))))
    }
}

private let readBufferSize = 64 * 1024

/// FUZZ_SKIP_KNOWN=1: ignore finding 1 (trailer names cut by a read) until it is fixed.
private let skipKnownTrailerSplit: Bool = {
    guard let v = getenv("FUZZ_SKIP_KNOWN") else { return false }
    return String(cString: v) == "1"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var split = drive(stream, Reads(data[0]))
    var whole = drive(stream, Reads(nil))
    if skipKnownTrailerSplit {
        // Finding 1 (Fuzz/README.md) unfixed: compare only the messages before the first trailer
        // verdict, so that a campaign can look for other bugs.
        let cut = min(split.firstIndex { $0.forbiddenTrailer } ?? split.count, whole.firstIndex { $0.forbiddenTrailer } ?? whole.count)
        split = Array(split.prefix(cut))
        whole = Array(whole.prefix(cut))
    }
    // The contiguous run is the reference; the split run saw the same bytes.
    let n = min(split.count, whole.count)
    for i in 0..<n where !split[i].sameDecision(as: whole[i]) {
        fatalError("message \(i) depends on read boundaries: split \(split[i]) vs one read \(whole[i])")
    }
    if split.count != whole.count {
        fatalError("message count depends on read boundaries: \(split.count) vs \(whole.count)")
    }
    return 0
}

private func drive(_ stream: UnsafeRawBufferPointer, _ reads: Reads) -> [Outcome] {
    var reads = reads
    let parser = HTTPParser(kind: .request)
    let head = UnsafeMutableRawPointer.allocate(byteCount: stream.count + 1, alignment: 16)
    let readBuffer = UnsafeMutableRawPointer.allocate(byteCount: readBufferSize, alignment: 16)
    defer { head.deallocate(); readBuffer.deallocate() }
    var pos = 0
    var headCount = 0
    var outcomes: [Outcome] = []

    /// The next read: nil at EOF.
    func read() -> Int? {
        guard pos < stream.count else { return nil }
        let n = min(reads.next(stream.count - pos), readBufferSize)
        return n
    }

    connection: while true {
        var out = Outcome()
        var headParsed = 0
        var headEnd = 0
        // Reading the head (appendHead + parseHead).
        while true {
            switch parser.execute(head + headParsed, headCount - headParsed) {
            case .needMore:
                headParsed = headCount
                guard let n = read() else {
                    _ = parser.finish()
                    if headCount > 0 { out.verdict = "eof in head"; outcomes.append(out) }
                    break connection
                }
                (head + headCount).copyMemory(from: stream.baseAddress! + pos, byteCount: n)
                pos += n
                headCount += n
                continue
            case .headersComplete(let n):
                check(n >= 0 && n <= headCount - headParsed, "head offset outside input")
                headEnd = headParsed + n
                parser.resume()
            case .messageComplete:
                out.verdict = "400 malformed"
            case .error(let e):
                out.verdict = e.isHeaderOverflow ? "431" : "400 \(e)"
            }
            break
        }
        if !out.verdict.isEmpty { outcomes.append(out); break }

        out.verdict = headChecks(parser, head: head, headEnd: headEnd, route: &out.route)
        let hasBody = parser.isChunked || (parser.hasContentLength && parser.contentLength > 0)
        // respond(): a 400 closes; any answer with a body still on the wire closes too.
        if out.verdict != "ok" && (out.verdict != "404" || hasBody) {
            outcomes.append(out)
            break
        }

        // The body (processRequestBytes): buffered bytes in place, then reads via readBuffer.
        let requestHeaderCount = parser.headerCount
        var base = UnsafeRawPointer(head + headEnd)
        var count = headCount - headEnd
        var fromSocket = false
        var nextStart = -1
        body: while true {
            let event = parser.execute(base, count)
            if parser.headerCount > requestHeaderCount && requestHeaderCount > 0 {
                for i in requestHeaderCount..<parser.headerCount {
                    let name = parser.headers[i].name
                    switch HeaderKind.classify(name) {
                    case .authorization, .proxyAuthorization, .host, .contentLength, .transferEncoding, .connection:
                        out.forbiddenTrailer = true
                    default: break
                    }
                }
                // The proxy answers 400 at once; keep parsing here only to compare the runs.
            }
            switch event {
            case .needMore:
                out.bodyBytes = parser.bodyBytes
                guard let n = read() else {
                    out.complete = parser.finish()
                    if !out.complete { out.bodyBytes = 0 }
                    outcomes.append(out)
                    break connection
                }
                readBuffer.copyMemory(from: stream.baseAddress! + pos, byteCount: n)
                pos += n
                base = UnsafeRawPointer(readBuffer)
                count = n
                fromSocket = true
            case .messageComplete(let n):
                check(n >= 0 && n <= count, "message end outside input")
                parser.resume()
                out.bodyBytes = parser.bodyBytes
                out.complete = true
                let rest = count - n
                if rest > 0 {
                    if fromSocket {
                        (head + headEnd).copyMemory(from: base + n, byteCount: rest)
                        nextStart = headEnd
                        headCount = headEnd + rest
                    } else {
                        nextStart = (base + n) - UnsafeRawPointer(head)
                    }
                }
                break body
            case .headersComplete:
                fatalError("head inside a body")
            case .error(let e):
                out.verdict += " / body 400 \(e)"
                // How much was streamed before the error depends on the reads; the verdict does not.
                out.bodyBytes = 0
                outcomes.append(out)
                break connection
            }
        }
        outcomes.append(out)
        if out.forbiddenTrailer || !parser.shouldKeepAlive { break }
        // finishExchange: the pipelined rest moves to the front of the head buffer.
        if nextStart >= 0 {
            let rest = headCount - nextStart
            if rest > 0 { head.copyMemory(from: head + nextStart, byteCount: rest) }
            headCount = rest
        } else {
            headCount = 0
        }
    }
    return outcomes
}

/// beginRequest's checks, in its order. Returns "ok", "404" (no route) or the 400 reason.
private func headChecks(_ p: HTTPParser, head: UnsafeMutableRawPointer, headEnd: Int, route: inout Int) -> String {
    let lo = UnsafeRawPointer(head), hi = UnsafeRawPointer(head + headEnd)
    func inside(_ s: ByteSpan, _ what: StaticString) {
        check(s.count >= 0 && (s.count == 0 || (s.base >= lo && s.base + s.count <= hi)), what)
    }
    inside(p.method, "method span outside head")
    inside(p.url, "url span outside head")
    check(p.headerCount >= 0 && p.headerCount <= p.maxHeaders, "header count")
    for i in 0..<p.headerCount {
        inside(p.headers[i].name, "header name outside head")
        inside(p.headers[i].value, "header value outside head")
    }
    let method = p.methodCode
    if method == HTTPParser.methodCONNECT { return "400 connect" }
    if p.hasTransferEncoding && !p.isChunked { return "400 te" }
    if p.hasTransferEncoding && !RequestValidation.isPlainChunked(p, count: p.headerCount) { return "400 te list" }

    var hostCount = 0
    var hostValue = ByteSpan.empty
    var tokens = ConnectionTokens()
    for i in 0..<p.headerCount {
        let h = p.headers[i]
        let kind = HeaderKind.classify(h.name)
        if kind != .other { check(h.name.count >= 2 && h.name.count <= 19, "classified an odd length") }
        _ = kind.isHopByHop
        switch kind {
        case .host:
            hostCount += 1
            hostValue = h.value.trimmed()
        case .connection:
            tokens.add(value: h.value)
        case .expect:
            _ = h.value.trimmed().equalsLowercase("100-continue")
        default: break
        }
    }
    for i in 0..<p.headerCount { _ = tokens.names(p.headers[i].name) }
    check(tokens.count <= 8, "connection tokens overflowed the inline slots")
    if hostCount > 1 { return "400 hosts" }
    if tokens.overflow { return "400 connection" }

    // splitTarget (private in ClientConnection; same logic).
    let url = p.url
    var authority = hostValue
    var target = url
    var absolute = false
    if url.count == 0 { return "400 empty target" }
    if url[0] != UInt8(ascii: "/") {
        var i = 0
        while i < url.count, url[i] != UInt8(ascii: ":") { i += 1 }
        let scheme = url.slice(from: 0, to: i)
        guard i + 2 < url.count, url[i + 1] == UInt8(ascii: "/"), url[i + 2] == UInt8(ascii: "/"),
            scheme.equalsLowercase("http") || scheme.equalsLowercase("https")
        else { return "400 target form" }
        var j = i + 3
        while j < url.count, url[j] != UInt8(ascii: "/"), url[j] != UInt8(ascii: "?") { j += 1 }
        authority = url.slice(from: i + 3, to: j)
        absolute = true
        target = j == url.count ? ByteSpan.empty : url.slice(from: j, to: url.count)
    }
    if p.httpMinor != 0 && hostCount == 0 && !absolute { return "400 no host" }
    var path = target
    for i in 0..<target.count where target[i] == UInt8(ascii: "?") {
        path = target.slice(from: 0, to: i)
        break
    }
    let host = Router.hostWithoutPort(authority)
    check(host.count >= 0 && host.count <= authority.count && (host.count == 0 || host.base == authority.base),
          "hostWithoutPort is not a prefix of its input")
    guard let r = router.match(host: host, path: path, method: method) else { return "404" }
    route = r.index
    checkSegmentPrefix(r.config.pathPrefix, path)
    return "ok"
}

private func checkSegmentPrefix(_ prefix: String, _ path: ByteSpan) {
    if prefix == "/" { return }
    let pre = Array(prefix.utf8)
    check(path.count >= pre.count, "matched a path shorter than the prefix")
    for i in 0..<pre.count { check(path[i] == pre[i], "matched a path without the prefix") }
    if path.count > pre.count {
        check(path[pre.count] == UInt8(ascii: "/") || path[pre.count] == UInt8(ascii: "?"), "prefix not on a segment boundary")
    }
}

private func check(_ ok: Bool, _ what: StaticString) {
    if !ok { fatalError("invariant: \(what)") }
}
