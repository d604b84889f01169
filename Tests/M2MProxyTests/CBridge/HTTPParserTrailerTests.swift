import Testing
@testable import M2MProxy

/// `recordTrailers`: chunked trailer fields kept as lines for the HTTP/2 bridges (gRPC status).
@Suite struct HTTPParserTrailerTests {
    private func trailers(_ text: String, splitAt: Int? = nil) -> String? {
        let p = HTTPParser(kind: .response)
        p.recordTrailers = true
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { buf -> String? in
            let base = UnsafeRawPointer(buf.baseAddress!)
            guard case .headersComplete(let h) = p.execute(base, buf.count) else { return nil }
            p.resume()
            var off = h
            if let s = splitAt {
                guard case .needMore = p.execute(base + off, s - off) else { return nil }
                off = s
            }
            guard case .messageComplete = p.execute(base + off, buf.count - off) else { return nil }
            return String(decoding: p.takeTrailerLines(), as: UTF8.self)
        }
    }

    private let message = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\ngrpc-status: 7\r\ngrpc-message: denied\r\n\r\n"

    @Test func trailerFieldsBecomeLines() {
        #expect(trailers(message) == "grpc-status: 7\r\ngrpc-message: denied\r\n")
    }

    @Test func linesSurviveASplitInsideAField() {
        let i = Array(message.utf8).count - 12
        #expect(trailers(message, splitAt: i) == "grpc-status: 7\r\ngrpc-message: denied\r\n")
    }

    @Test func noTrailersNoLines() {
        #expect(trailers("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == "")
    }

    @Test func anEmptyLastValueStillEndsItsLine() {
        #expect(trailers("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\ngrpc-status: 0\r\ngrpc-message:\r\n\r\n")
            == "grpc-status: 0\r\ngrpc-message: \r\n")
    }
}
