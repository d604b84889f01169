import Testing
@testable import M2MProxy

/// `HTTPParser.completesBodylessHeads`: a head without a body ends its message in the same
/// `execute`, reported as `.headersComplete` at the same offset plus `takeHeadEndedMessage`;
/// every head with a body (or an upgrade) still pauses at its end as before.
@Suite struct HTTPParserBodylessHeadTests {
    private func run(_ text: String, _ body: (HTTPParser, UnsafeRawPointer, Int) -> Void) {
        let p = HTTPParser(kind: .request)
        p.completesBodylessHeads = true
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { body(p, UnsafeRawPointer($0.baseAddress!), $0.count) }
    }

    @Test func bodylessHeadEndsItsMessageOnce() {
        let first = "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n"
        run(first + "GET /b HTTP/1.1\r\nHost: y\r\n\r\n") { p, base, n in
            guard case .headersComplete(let h) = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(h == first.utf8.count)
            // The head's state is still readable: the message end did not clear it.
            #expect(p.url.makeString() == "/a")
            #expect(p.headerCount == 2)
            #expect(p.shouldKeepAlive)
            #expect(!p.hasContentLength && !p.isChunked)
            p.resume()
            #expect(p.takeHeadEndedMessage())
            #expect(!p.takeHeadEndedMessage())
            // The next (pipelined) request parses as usual.
            guard case .headersComplete(let h2) = p.execute(base + h, n - h) else { Issue.record("no second head"); return }
            #expect(h + h2 == n)
            #expect(p.url.makeString() == "/b")
            #expect(p.headers[0].value.makeString() == "y")
            p.resume()
            #expect(p.takeHeadEndedMessage())
        }
    }

    /// What the owner reads after the head (keep-alive, version, framing) is still the head's,
    /// and a declared empty body ends with the head too.
    @Test(arguments: [
        ("GET / HTTP/1.0\r\nHost: x\r\nConnection: close\r\n\r\n", false),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", true),
    ])
    func headStateStaysReadable(_ text: String, _ http11: Bool) {
        run(text) { p, base, n in
            guard case .headersComplete(let h) = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(h == n)
            #expect(p.shouldKeepAlive == http11)
            #expect(p.httpMajor == 1 && p.httpMinor == (http11 ? 1 : 0))
            #expect(p.hasContentLength == http11 && p.contentLength == 0)
            p.resume()
            #expect(p.takeHeadEndedMessage())
        }
    }

    @Test(arguments: [
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ])
    func headWithABodyStillPausesAtItsEnd(_ text: String) {
        run(text) { p, base, n in
            guard case .headersComplete(let h) = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(!p.takeHeadEndedMessage())
            p.resume()
            guard case .messageComplete(let m) = p.execute(base + h, n - h) else { Issue.record("no end"); return }
            #expect(h + m == n)
            p.resume()
            #expect(!p.takeHeadEndedMessage())
        }
    }

    @Test func upgradeStillPausesAtItsHead() {
        run("GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n") { p, base, n in
            guard case .headersComplete(let h) = p.execute(base, n) else { Issue.record("no head"); return }
            #expect(h == n)
            #expect(p.isUpgrade)
            #expect(!p.takeHeadEndedMessage())
            p.resume()
            guard case .messageComplete(0) = p.execute(base + h, 0) else { Issue.record("no end"); return }
        }
    }

    /// Fed a byte at a time, the head still ends (and ends its message) at its last byte.
    @Test func headFedOneByteAtATime() {
        run("GET /a HTTP/1.1\r\nHost: x\r\n\r\n") { p, base, n in
            for i in 0..<n {
                switch p.execute(base + i, 1) {
                case .needMore:
                    #expect(i < n - 1)
                case .headersComplete(let c):
                    #expect(i == n - 1 && c == 1)
                    p.resume()
                    #expect(p.takeHeadEndedMessage())
                default:
                    Issue.record("unexpected event at byte \(i)")
                }
            }
        }
    }

    /// `reset` (a connection reused for a new exchange) drops an end not taken.
    @Test func resetDropsAnUntakenEnd() {
        run("GET / HTTP/1.1\r\nHost: x\r\n\r\n") { p, base, n in
            guard case .headersComplete = p.execute(base, n) else { Issue.record("no head"); return }
            p.reset()
            #expect(!p.takeHeadEndedMessage())
        }
    }
}
