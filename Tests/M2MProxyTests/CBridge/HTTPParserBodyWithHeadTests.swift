import Testing
@testable import M2MProxy

/// `HTTPParser.parsesBodyWithHead`: a response head with a declared-length body is parsed on
/// into that body in the same `execute`; the head is still reported at its exact end, and
/// `takeBodyWithHead` says what an `execute` on the bytes after it would have. Heads the owner
/// acts on first (1xx, 101, 401), chunked ones and responses to HEAD pause as before.
@Suite struct HTTPParserBodyWithHeadTests {
    private func run(_ text: String, skipBody: Bool = false, _ body: (HTTPParser, UnsafeRawPointer, Int) -> Void) {
        let p = HTTPParser(kind: .response)
        p.parsesBodyWithHead = true
        p.skipBody = skipBody
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { body(p, UnsafeRawPointer($0.baseAddress!), $0.count) }
    }

    private static let head = "HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nContent-Length: 5\r\n\r\n"

    @Test func wholeBodyWithTheHead() {
        run(Self.head + "hello" + "HTTP/1.1 204 No Content\r\n\r\n") { p, base, n in
            guard case .headersComplete(let h) = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(h == Self.head.utf8.count)
            #expect(p.statusCode == 200 && p.headerCount == 2)
            #expect(p.headers[1].value.makeString() == "5")
            p.resume()
            guard case .messageComplete(5) = p.takeBodyWithHead() else { Issue.record("body not complete"); return }
            #expect(p.takeBodyWithHead() == nil)
            #expect(p.bodyBytes == 5)
            #expect(p.shouldKeepAlive)
            p.resume()
            // The next response on the connection parses as usual (a 204: it pauses at its head).
            guard case .headersComplete(let h2) = p.execute(base + h + 5, n - h - 5) else { Issue.record("no second head"); return }
            #expect(h + 5 + h2 == n)
            #expect(p.statusCode == 204)
            #expect(p.takeBodyWithHead() == nil)
        }
    }

    @Test func partOfTheBodyWithTheHead() {
        run(Self.head + "hel") { p, base, n in
            guard case .headersComplete(let h) = p.execute(base, n - 1) else { Issue.record("no head"); return }
            #expect(h == Self.head.utf8.count)
            p.resume()
            guard case .needMore = p.takeBodyWithHead() else { Issue.record("expected needMore"); return }
            #expect(p.bodyBytes == 2)
            guard case .needMore = p.execute(base + n - 1, 1) else { Issue.record("expected needMore"); return }
            #expect(p.bodyBytes == 3)
        }
    }

    @Test func noBodyByteYetOrAnEmptyBody() {
        run(Self.head) { p, base, n in
            guard case .headersComplete(let h) = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(h == n)
            guard case .needMore = p.takeBodyWithHead() else { Issue.record("expected needMore"); return }
        }
        run("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") { p, base, n in
            guard case .headersComplete(let h) = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(h == n)
            guard case .messageComplete(0) = p.takeBodyWithHead() else { Issue.record("expected the end"); return }
        }
    }

    /// The head split over two calls: the second reports it relative to its own input.
    @Test func headSplitAcrossCalls() {
        run(Self.head + "hello") { p, base, n in
            guard case .needMore = p.execute(base, 20) else { Issue.record("expected needMore"); return }
            guard case .headersComplete(let h) = p.execute(base + 20, n - 20) else { Issue.record("no head"); return }
            #expect(20 + h == Self.head.utf8.count)
            #expect(p.headers[0].name.makeString() == "Content-Type")
            guard case .messageComplete(5) = p.takeBodyWithHead() else { Issue.record("body not complete"); return }
        }
    }

    @Test(arguments: [
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nno",
        "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n",
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ])
    func headsTheOwnerActsOnFirstStillPause(_ text: String) {
        run(text) { p, base, n in
            guard case .headersComplete = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(p.takeBodyWithHead() == nil)
            #expect(p.bodyBytes == 0)
        }
    }

    @Test func responseToHEADEndsWithItsHead() {
        run(Self.head, skipBody: true) { p, base, n in
            guard case .messageComplete(let m) = p.execute(base, n) else { Issue.record("no end"); return }
            #expect(m == n)
            #expect(p.takeBodyWithHead() == nil)
        }
    }
}

