import Testing
@testable import M2MProxy

/// The status line an HTTP/1.1 client gets for an HTTP/2 upstream's `:status`.
@Suite struct HTTPStatusLineTests {
    private func line(_ status: Int) -> String {
        var out: [UInt8] = []
        HTTPStatusLine.append(status, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func registeredCodesGetTheirPhrase() {
        #expect(line(200) == "HTTP/1.1 200 OK\r\n")
        #expect(line(204) == "HTTP/1.1 204 No Content\r\n")
        #expect(line(404) == "HTTP/1.1 404 Not Found\r\n")
        #expect(line(413) == "HTTP/1.1 413 Content Too Large\r\n")
        #expect(line(429) == "HTTP/1.1 429 Too Many Requests\r\n")
        #expect(line(503) == "HTTP/1.1 503 Service Unavailable\r\n")
    }

    /// nginx: an unregistered code gets no phrase, but the space before it stays (RFC 9112 §4).
    @Test func otherCodesGetNoPhrase() {
        #expect(line(299) == "HTTP/1.1 299 \r\n")
        #expect(line(418) == "HTTP/1.1 418 \r\n")
        #expect(line(599) == "HTTP/1.1 599 \r\n")
    }

    /// Every code of RFC 9110 §15 has its phrase (306 and 418 are "(Unused)" there).
    @Test func everyRFC9110CodeIsInTheTable() {
        let codes = [100, 101, 200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 305, 307, 308,
                     400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417,
                     421, 422, 426, 500, 501, 502, 503, 504, 505]
        for c in codes { #expect(HTTPStatusLine.reasonPhrase(c).utf8CodeUnitCount > 0, "\(c)") }
    }
}
