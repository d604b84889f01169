import CLibUV
import Testing
@testable import M2MProxy

/// The response head rewrite without a socket: an upstream head is parsed by the real parser,
/// `responseFilter` rewrites it, and its iovecs are joined into the exact bytes the client gets.
@Suite struct ResponseHeadRewriteTests {
    /// The request the response answers.
    struct Request {
        var http10 = false, keepAlive = true, isHEAD = false
        var bodyDone = true, dechunk = false, clientClosing = false
    }

    /// The client's head for the upstream's `text`, with the context after the rewrite.
    static func rewrite(_ text: String, _ r: Request = Request()) -> (head: String, ctx: RequestContext) {
        let parser = HTTPParser(kind: .response)
        parser.skipBody = r.isHEAD
        let kinds = UnsafeMutablePointer<HeaderKind>.allocate(capacity: 128)
        defer { kinds.deallocate() }
        let statics = StaticLines()
        var ctx = RequestContext()
        ctx.http10 = r.http10
        ctx.keepAlive = r.keepAlive
        ctx.isHEAD = r.isHEAD
        ctx.bodyDone = r.bodyDone
        ctx.dechunk = r.dechunk
        var out = ""
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { b in
            let n: Int
            switch parser.execute(b.baseAddress!, b.count) {
            case .headersComplete(let consumed), .messageComplete(let consumed): n = consumed
            default:
                Issue.record("head did not parse: \(text)")
                return
            }
            let head = UpstreamResponseHead(
                buffer: b.baseAddress!, headEnd: n, status: parser.statusCode, headers: parser.headers,
                headerCount: parser.headerCount, kinds: kinds, needsEOF: parser.messageNeedsEOF, clientClosing: r.clientClosing)
            let capacity = ReverseProxyPhases.responseHeadPieces(headerCount: parser.headerCount)
            let before = ctx
            out = withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: capacity) { storage in
                var iov = IOVecList(storage: storage)
                ReverseProxyPhases().responseFilter(&ctx, head, statics, into: &iov)
                // Room for one more piece: the body bytes that came with the head.
                #expect(iov.count < capacity)
                return UpstreamRequestHeadTests.joined(iov)
            }
            // The session builds it in flat mode (copied as it goes): the same bytes.
            IOVecTests.expectFlatMatches(out, capacity: capacity) { iov in
                var c = before
                ReverseProxyPhases().responseFilter(&c, head, statics, into: &iov)
            }
        }
        return (out, ctx)
    }

    @Test func dropsHopByHopHeadersAndWhatConnectionNames() {
        let (head, ctx) = Self.rewrite(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nContent-Length: 2\r\n"
                + "Proxy-Connection: keep-alive\r\nTrailer: X-T\r\nUpgrade: h2c\r\nX-Kept: y\r\n\r\nok")
        #expect(head == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Kept: y\r\n\r\n")
        #expect(!ctx.clientWillClose && !ctx.responseNeedsEOF)
    }

    /// Kept lines go as runs: alternating kept and dropped lines, a dropped first and last
    /// line, and a kept last line each keep exactly the kept lines, in order.
    @Test func keepsRunsOfLinesBetweenDroppedOnes() {
        let (alternating, _) = Self.rewrite(
            "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nA: 1\r\nB: 2\r\nTE: x\r\nContent-Length: 2\r\nTrailer: X-T\r\n"
                + "C: 3\r\nProxy-Connection: close\r\n\r\nok")
        #expect(alternating == "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nContent-Length: 2\r\nC: 3\r\n\r\n")
        let (lastKept, _) = Self.rewrite("HTTP/1.1 200 OK\r\nA: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok")
        #expect(lastKept == "HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 2\r\n\r\n")
        let (allDropped, _) = Self.rewrite("HTTP/1.1 204 No Content\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n")
        #expect(allDropped == "HTTP/1.1 204 No Content\r\n\r\n")
    }

    @Test func fixesFramingOf204And304() {
        // (llhttp refuses Content-Length and Transfer-Encoding together: one at a time.)
        #expect(Self.rewrite("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX: 1\r\n\r\n").head == "HTTP/1.1 204 No Content\r\nX: 1\r\n\r\n")
        #expect(Self.rewrite("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n").head == "HTTP/1.1 204 No Content\r\nX: 1\r\n\r\n")
        #expect(Self.rewrite("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nETag: \"e\"\r\n\r\n").head
            == "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\n\r\n")
        // A 304's Content-Length describes the resource: it stays.
        #expect(Self.rewrite("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nETag: \"e\"\r\n\r\n").head
            == "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nETag: \"e\"\r\n\r\n")
    }

    @Test func dechunksForHTTP10Clients() {
        let (head, ctx) = Self.rewrite(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n", Request(http10: true, dechunk: true))
        // Delimited by close instead.
        #expect(head == "HTTP/1.1 200 OK\r\nX: 1\r\nConnection: close\r\n\r\n")
        #expect(ctx.clientWillClose)
        let (chunked, _) = Self.rewrite("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n")
        #expect(chunked == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n")
    }

    @Test func decidesConnection() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        // An HTTP/1.0 client that keeps the connection is told so.
        #expect(Self.rewrite(ok, Request(http10: true)).head == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
        let close = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        #expect(Self.rewrite(ok, Request(keepAlive: false)).head == close)
        // The request body was not all read: the connection cannot carry another request.
        #expect(Self.rewrite(ok, Request(bodyDone: false)).head == close)
        #expect(Self.rewrite(ok, Request(clientClosing: true)).head == close)
        // The upstream's own `Connection: close` is its business, not the client's.
        #expect(Self.rewrite("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").head == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func closeDelimitedBodyClosesTheClientUnlessThereIsNone() {
        let text = "HTTP/1.1 200 OK\r\nX: 1\r\n\r\n"
        let (head, ctx) = Self.rewrite(text)
        #expect(head == "HTTP/1.1 200 OK\r\nX: 1\r\nConnection: close\r\n\r\n")
        #expect(ctx.responseNeedsEOF && ctx.clientWillClose)
        let (toHEAD, headCtx) = Self.rewrite(text, Request(isHEAD: true))
        #expect(toHEAD == "HTTP/1.1 200 OK\r\nX: 1\r\n\r\n")
        #expect(!headCtx.clientWillClose)
    }

    @Test func switchingProtocolsKeepsUpgrade() {
        let (head, _) = Self.rewrite(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: a\r\n\r\n")
        #expect(head == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: a\r\nConnection: upgrade\r\n\r\n")
    }

    @Test func answersAsHTTP11() {
        let (old, ctx) = Self.rewrite("\r\nHTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(old == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(ctx.responseHeadStart == 2)
        let (bare, _) = Self.rewrite("HTTP/1.1 204\r\n\r\n")
        #expect(bare == "HTTP/1.1 204\r\n\r\n")
    }

    /// An HTTP/1.1 status line starts the first run of kept lines, and without a Connection line
    /// of the proxy's the last run takes the final CRLF: the head as sent, minus what is dropped,
    /// whether the first, a middle or the last line goes, or none, or there are no fields.
    @Test func headAsSentIsOnePieceUpToItsFirstDroppedLine() {
        let kept = "HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nContent-Length: 0\r\n\r\n"
        #expect(Self.rewrite(kept).head == kept)
        #expect(Self.rewrite("HTTP/1.1 200 OK\r\nKeep-Alive: 5\r\nContent-Length: 0\r\n\r\n").head
            == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(Self.rewrite("HTTP/1.1 200 OK\r\nA: 1\r\nTE: x\r\nContent-Length: 0\r\n\r\n").head
            == "HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 0\r\n\r\n")
        #expect(Self.rewrite("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n").head
            == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(Self.rewrite("\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n").head == "HTTP/1.1 304 Not Modified\r\n\r\n")
        // A Connection line of the proxy's still goes before the final CRLF.
        #expect(Self.rewrite("HTTP/1.1 204 No Content\r\n\r\n", Request(keepAlive: false)).head
            == "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        #expect(Self.rewrite(kept, Request(http10: true)).head
            == "HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
    }

    /// The response's Connection options are recorded in the context (a 401 replay resets them).
    @Test func notesTheResponsesConnectionOptions() {
        let (head, ctx) = Self.rewrite("HTTP/1.1 200 OK\r\nConnection: x-a, close\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n")
        #expect(head == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(ctx.responseConnectionTokens.count == 1 && ctx.responseConnectionTokens.close)
    }

    /// The HTTP/2 form (an HTTP/2 stream's inner connection): the fields the client gets, as
    /// `name: value` strings, with the context after the filter.
    static func fields(_ text: String, _ r: Request = Request()) -> (fields: [String], ctx: RequestContext) {
        let parser = HTTPParser(kind: .response)
        let kinds = UnsafeMutablePointer<HeaderKind>.allocate(capacity: 128)
        defer { kinds.deallocate() }
        var ctx = RequestContext()
        ctx.keepAlive = r.keepAlive
        ctx.isHEAD = r.isHEAD
        ctx.bodyDone = r.bodyDone
        ctx.dechunk = r.dechunk
        var out: [String] = []
        Array(text.utf8).withUnsafeBytes { b in
            guard case .headersComplete(let n) = parser.execute(b.baseAddress!, b.count) else {
                Issue.record("head did not parse: \(text)")
                return
            }
            let head = UpstreamResponseHead(
                buffer: b.baseAddress!, headEnd: n, status: parser.statusCode, headers: parser.headers,
                headerCount: parser.headerCount, kinds: kinds, needsEOF: parser.messageNeedsEOF, clientClosing: r.clientClosing)
            ReverseProxyPhases().responseFilter(&ctx, head) { h in
                out.append(String(decoding: h.name.buffer, as: UTF8.self) + ": " + String(decoding: h.value.buffer, as: UTF8.self))
            }
        }
        return (out, ctx)
    }

    /// No hop-by-hop or connection-specific field reaches an HTTP/2 client (RFC 9113 §8.2.2),
    /// Transfer-Encoding included (the body is de-chunked), nor what Connection names; de-chunking
    /// does not close the inner connection (it does for an HTTP/1.0 client).
    @Test func http2FieldsDropConnectionSpecificOnes() {
        let (fields, ctx) = Self.fields(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n"
                + "Transfer-Encoding: chunked\r\nTrailer: Grpc-Status\r\nUpgrade: h2c\r\nProxy-Connection: x\r\n"
                + "Content-Type: application/grpc\r\nX-Kept: 2\r\n\r\n",
            Request(dechunk: true))
        #expect(fields == ["Content-Type: application/grpc", "X-Kept: 2"])
        #expect(!ctx.clientWillClose)
        let (noContent, _) = Self.fields("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\nX-A: 1\r\n\r\n")
        #expect(noContent == ["X-A: 1"])
        let (length, _) = Self.fields("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
        #expect(length == ["Content-Length: 5"])
    }
}
