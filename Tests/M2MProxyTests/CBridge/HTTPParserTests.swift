import Testing
@testable import M2MProxy

/// The llhttp wrapper: pauses at head and message ends with exact offsets, strict framing.
@Suite struct HTTPParserTests {
    private func run(_ parser: HTTPParser, _ text: String, _ body: (UnsafeRawPointer, Int) -> Void) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { body(UnsafeRawPointer($0.baseAddress!), $0.count) }
    }

    @Test func pausesAfterHeadAndAfterMessage() {
        let p = HTTPParser(kind: .request)
        run(p, "POST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /") { base, n in
            guard case .headersComplete(let h) = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(h == 52)
            #expect(p.method.makeString() == "POST")
            #expect(p.url.makeString() == "/x?y=1")
            #expect(p.headerCount == 2)
            #expect(p.headers[0].name.makeString() == "Host")
            #expect(p.headers[1].value.makeString() == "3")
            #expect(p.hasContentLength && p.contentLength == 3)
            p.resume()
            guard case .messageComplete(let m) = p.execute(base + h, n - h) else { Issue.record("no end"); return }
            #expect(m == 3)
        }
    }

    @Test func bodylessRequestCompletesOnEmptyInput() {
        let p = HTTPParser(kind: .request)
        run(p, "GET / HTTP/1.1\r\nHost: a\r\n\r\n") { base, n in
            guard case .headersComplete(let h) = p.execute(base, n) else { Issue.record("no head"); return }
            p.resume()
            guard case .messageComplete(0) = p.execute(base + h, 0) else { Issue.record("no end"); return }
        }
    }

    @Test func headerSplitAcrossCallsIsOneSpan() {
        let p = HTTPParser(kind: .request)
        run(p, "GET / HTTP/1.1\r\nX-Long-Name: some value\r\n\r\n") { base, n in
            guard case .needMore = p.execute(base, 20) else { Issue.record("expected needMore"); return }
            guard case .headersComplete = p.execute(base + 20, n - 20) else { Issue.record("no head"); return }
            #expect(p.headers[0].name.makeString() == "X-Long-Name")
            #expect(p.headers[0].value.makeString() == "some value")
        }
    }

    @Test func emptyHeaderValueDoesNotMergeNames() {
        let p = HTTPParser(kind: .request)
        run(p, "GET / HTTP/1.1\r\nX-Empty:\r\nHost: a\r\n\r\n") { base, n in
            guard case .headersComplete = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(p.headerCount == 2)
            #expect(p.headers[0].name.makeString() == "X-Empty")
            #expect(p.headers[1].name.makeString() == "Host")
        }
    }

    /// Field lines are told apart by position (a name piece continues only where the last one
    /// ended): fed one byte per call, empty values and split names still give the same spans.
    @Test func headFedOneByteAtATime() {
        let p = HTTPParser(kind: .request)
        run(p, "GET / HTTP/1.1\r\nX-Empty:\r\nHost: a\r\nX-E2: \r\nX-Long-Name: v  w\r\n\r\n") { base, n in
            var i = 0
            while i < n {
                if case .headersComplete(let c) = p.execute(base + i, 1) {
                    #expect(i + c == n)
                    break
                }
                i += 1
            }
            #expect(p.headerCount == 4)
            #expect((0..<p.headerCount).map { p.headers[$0].name.makeString() } == ["X-Empty", "Host", "X-E2", "X-Long-Name"])
            #expect((0..<p.headerCount).map { p.headers[$0].value.makeString() } == ["", "a", "", "v  w"])
        }
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\n\n",
    ])
    func ambiguousFramingIsRejected(_ request: String) {
        let p = HTTPParser(kind: .request)
        run(p, request) { base, n in
            guard case .error = p.execute(base, n) else {
                Issue.record("accepted: \(request.debugDescription)")
                return
            }
        }
    }

    /// llhttp only rejects a non-chunked request coding after the head: the proxy checks the
    /// flag at the head so that nothing is forwarded.
    @Test func nonChunkedTransferEncodingIsVisibleAtTheHead() {
        let p = HTTPParser(kind: .request)
        run(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n") { base, n in
            guard case .headersComplete = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(p.hasTransferEncoding)
            #expect(!p.isChunked)
        }
    }

    @Test func tooManyHeadersIsReportedAsOverflow() {
        let p = HTTPParser(kind: .request, maxHeaders: 4)
        var req = "GET / HTTP/1.1\r\n"
        for i in 0..<5 { req += "X-\(i): v\r\n" }
        run(p, req + "\r\n") { base, n in
            guard case .error(let e) = p.execute(base, n) else { Issue.record("accepted"); return }
            #expect(e.isHeaderOverflow)
        }
    }

    @Test func lentHeaderTableIsUsedOnlyWhileLent() {
        // Connections' parsers own no table: an idle keep-alive connection holds none.
        let p = HTTPParser(kind: .request, maxHeaders: 0)
        run(p, "GET / HTTP/1.1\r\nHost: a\r\n\r\n") { base, n in
            guard case .error(let e) = p.execute(base, n) else { Issue.record("parsed without a table"); return }
            #expect(e.isHeaderOverflow)
        }
        let fresh = HTTPParser(kind: .request, maxHeaders: 0)
        let table = UnsafeMutablePointer<HeaderSpan>.allocate(capacity: 2)
        defer { table.deallocate() }
        fresh.lendHeaders(table, capacity: 2)
        run(fresh, "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n") { base, n in
            guard case .headersComplete = fresh.execute(base, n) else { Issue.record("no head"); return }
            #expect(fresh.headerCount == 2)
            #expect(table[1].value.makeString() == "b")
            #expect(fresh.headers == table)
        }
        fresh.returnHeaders()
        #expect(fresh.headerCount == 0)
        #expect(fresh.maxHeaders == 0)
    }

    @Test func requestParserKeepsNoBodySpanArray() {
        let p = HTTPParser(kind: .request)
        #expect(p.bodySpans.capacity == 0)
        p.recordBody = true
        #expect(p.bodySpans.capacity >= 32)
    }

    @Test func responseToHeadHasNoBody() {
        let p = HTTPParser(kind: .response)
        p.skipBody = true
        run(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n") { base, n in
            guard case .messageComplete(let m) = p.execute(base, n) else { Issue.record("no end"); return }
            #expect(m == n)
            #expect(p.statusCode == 200)
        }
    }

    @Test func chunkedResponseBodyIsRecordedDechunked() {
        let p = HTTPParser(kind: .response)
        p.recordBody = true
        run(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n") { base, n in
            guard case .headersComplete(let h) = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(p.isChunked)
            p.resume()
            guard case .messageComplete = p.execute(base + h, n - h) else { Issue.record("no end"); return }
            #expect(p.bodySpans.map { $0.makeString() }.joined() == "abcde")
        }
    }

    /// Trailer names are checked only in chunked messages (the callback is set per message):
    /// a forbidden trailer stops the parse; the same name as a head field, an allowed trailer,
    /// and messages after a chunked one on the same connection are unaffected.
    @Test func forbiddenTrailerIsRefusedOnlyInTrailers() {
        let p = HTTPParser(kind: .request)
        p.isForbiddenTrailer = { $0.equalsLowercase("authorization") }
        func message(_ text: String) -> String {
            var result = "incomplete"
            run(p, text) { base, n in
                var off = 0
                while off <= n {
                    switch p.execute(base + off, n - off) {
                    case .headersComplete(let c):
                        off += c
                        p.resume()
                    case .messageComplete(let c):
                        off += c
                        p.resume()
                        result = "complete"
                        if off == n { return }
                    case .needMore:
                        return
                    case .error(let e):
                        result = e == .forbiddenTrailer ? "forbidden" : "error"
                        return
                    }
                }
            }
            return result
        }
        let chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
        #expect(message("GET / HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n") == "complete")
        #expect(message(chunked + "Authorization: Bearer x\r\n\r\n") == "forbidden")
        p.reset()
        #expect(message(chunked + "X-Checksum: 1\r\n\r\n") == "complete")
        #expect(message("GET / HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n") == "complete")
        #expect(message(chunked + "authorization: y\r\n\r\n") == "forbidden")
    }
}
