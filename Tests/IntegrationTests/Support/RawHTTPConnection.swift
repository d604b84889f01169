import Foundation
import Glibc

/// A blocking TCP client with exact control of the bytes sent, for pipelining, absolute-form
/// targets and malformed requests. Every read has a deadline (default 10 s).
final class RawHTTPConnection {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var open = true
    /// Set once a read saw end of stream or a reset from the peer.
    private(set) var peerClosed = false
    let defaultTimeout: Double

    /// `receiveBufferBytes` sets SO_RCVBUF before connecting (so the advertised window stays
    /// small too): a slow reader then stalls the server after a predictable amount of data.
    init(port: UInt16, host: String = "127.0.0.1", timeout: Double = 10, receiveBufferBytes: Int32? = nil) throws {
        defaultTimeout = timeout
        guard var addr = SocketAddress.ipv4(host, port: port) else { throw HarnessError("bad IPv4 address \(host)") }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if var size = receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            let e = errno
            Glibc.close(fd)
            throw HarnessError("connect to \(host):\(port) failed: \(String(cString: strerror(e)))")
        }
    }

    deinit { close() }

    /// The socket, for helpers that write from another thread (`BackgroundSender`).
    var socketDescriptor: Int32 { fd }

    /// This side's port, which the proxy sees as the peer's (for `TCPTable`).
    var localPort: UInt16 {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: addr.sin_port)
    }

    func close() {
        if open {
            open = false
            Glibc.close(fd)
        }
    }

    /// Closes with a TCP RST (SO_LINGER 0): the server sees the client vanish, not a half-close.
    func reset() {
        guard open else { return }
        var lin = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, socklen_t(MemoryLayout<linger>.size))
        close()
    }

    /// Half-closes the sending side (the server then sees end of stream).
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8], timeout: Double? = nil) throws {
        let deadline = Date().addingTimeInterval(timeout ?? defaultTimeout)
        var offset = 0
        while offset < bytes.count {
            try waitFor(Int16(POLLOUT), deadline: deadline, what: "sending (\(offset)/\(bytes.count) bytes sent)")
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw HarnessError("send failed after \(offset) bytes: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// Reads one complete response (skipping and recording 1xx interim responses).
    /// `head` = the request was HEAD, so the response has no body whatever its headers say.
    func readResponse(head: Bool = false, timeout: Double? = nil) throws -> HTTPResponse {
        let deadline = Date().addingTimeInterval(timeout ?? defaultTimeout)
        var interim: [HTTPResponse] = []
        while true {
            var response = try readHead(deadline: deadline)
            if (100..<200).contains(response.status) && response.status != 101 {
                interim.append(response)
                continue
            }
            response.interim = interim
            try readBody(into: &response, head: head, deadline: deadline)
            return response
        }
    }

    /// Reads just the next response head, 1xx included (for `Expect: 100-continue`).
    func readInterimHead(timeout: Double? = nil) throws -> HTTPResponse {
        try readHead(deadline: Date().addingTimeInterval(timeout ?? defaultTimeout))
    }

    /// Reads exactly `count` raw bytes (tunnelled data after a 101).
    func readBytes(_ count: Int, timeout: Double? = nil) throws -> [UInt8] {
        try readExactly(count, deadline: Date().addingTimeInterval(timeout ?? defaultTimeout))
    }

    /// Reads `count` responses in order (pipelining).
    func readResponses(_ count: Int, head: Bool = false, timeout: Double? = nil) throws -> [HTTPResponse] {
        try (0..<count).map { _ in try readResponse(head: head, timeout: timeout) }
    }

    /// True if the peer closes (or resets) within `timeout` s with no further data arriving;
    /// false if the connection is still open at the deadline. Unexpected bytes are an error.
    func waitForPeerClose(timeout: Double = 3) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !peerClosed {
            do {
                try fill(deadline: deadline)
            } catch let e as HarnessError where e.description.hasPrefix("timed out") {
                return false
            }
        }
        if !buffer.isEmpty {
            throw HarnessError("unexpected bytes before close: \(String(decoding: buffer.prefix(200), as: UTF8.self))")
        }
        return true
    }

    /// Everything until the peer closes (for checking that nothing at all is answered).
    func readUntilClose(timeout: Double? = nil) throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(timeout ?? defaultTimeout)
        while !peerClosed { try fill(deadline: deadline) }
        defer { buffer.removeAll() }
        return buffer
    }

    /// Streaming read for bodies too large to collect: copies up to `dest.count` bytes (those
    /// already buffered first) and returns how many; 0 means the peer closed.
    func readSome(into dest: UnsafeMutableRawBufferPointer, timeout: Double? = nil) throws -> Int {
        if !buffer.isEmpty {
            let n = min(dest.count, buffer.count)
            buffer.withUnsafeBytes { dest.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
            buffer.removeFirst(n)
            return n
        }
        if peerClosed { return 0 }
        let deadline = Date().addingTimeInterval(timeout ?? defaultTimeout)
        while true {
            try waitFor(Int16(POLLIN), deadline: deadline, what: "body bytes")
            let n = recv(fd, dest.baseAddress, dest.count, 0)
            if n > 0 { return n }
            if n == 0 || errno == ECONNRESET {
                peerClosed = true
                return 0
            }
            if errno != EINTR && errno != EAGAIN {
                throw HarnessError("recv failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    // MARK: - parsing

    private func readHead(deadline: Date) throws -> HTTPResponse {
        var end: Int?
        while true {
            end = headEnd()
            if end != nil { break }
            if peerClosed {
                throw HarnessError(buffer.isEmpty
                    ? "connection closed by the server before a response"
                    : "connection closed inside a response head: \(String(decoding: buffer.prefix(300), as: UTF8.self))")
            }
            try fill(deadline: deadline, what: "a response head")
        }
        let headBytes = Array(buffer[0..<end!])
        buffer.removeFirst(end! + 4)
        let lines = String(decoding: headBytes, as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw HarnessError("bad status line: \(lines[0])")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw HarnessError("bad header line: \(line)") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return HTTPResponse(
            version: String(statusParts[0]), status: status,
            reason: statusParts.count > 2 ? String(statusParts[2]) : "", headers: headers, body: [])
    }

    private func readBody(into r: inout HTTPResponse, head: Bool, deadline: Date) throws {
        if head || r.status == 204 || r.status == 304 || r.status == 101 {
            r.framing = "none"
            return
        }
        if let te = r.header("Transfer-Encoding"), te.lowercased().contains("chunked") {
            r.framing = "chunked"
            r.body = try readChunked(deadline: deadline)
        } else if let cl = r.header("Content-Length") {
            guard let n = Int(cl) else { throw HarnessError("bad Content-Length: \(cl)") }
            r.framing = "length"
            r.body = try readExactly(n, deadline: deadline)
        } else {
            r.framing = "close"
            while !peerClosed { try fill(deadline: deadline, what: "a close-delimited body") }
            r.body = buffer
            buffer.removeAll()
        }
    }

    private func readChunked(deadline: Date) throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let line = try readLine(deadline: deadline)
            let sizeText = line.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(sizeText, radix: 16) else { throw HarnessError("bad chunk size line: \(line)") }
            if size == 0 {
                while try !readLine(deadline: deadline).isEmpty {}  // trailers
                return body
            }
            body += try readExactly(size, deadline: deadline)
            guard try readLine(deadline: deadline).isEmpty else { throw HarnessError("chunk not followed by CRLF") }
        }
    }

    private func readLine(deadline: Date) throws -> String {
        while true {
            if let i = indexOf([13, 10]) {
                let line = String(decoding: buffer[0..<i], as: UTF8.self)
                buffer.removeFirst(i + 2)
                return line
            }
            if peerClosed { throw HarnessError("connection closed inside chunked framing") }
            try fill(deadline: deadline, what: "a chunk line")
        }
    }

    private func readExactly(_ n: Int, deadline: Date) throws -> [UInt8] {
        while buffer.count < n {
            if peerClosed { throw HarnessError("connection closed after \(buffer.count) of \(n) body bytes") }
            try fill(deadline: deadline, what: "\(n) body bytes (have \(buffer.count))")
        }
        let out = Array(buffer[0..<n])
        buffer.removeFirst(n)
        return out
    }

    private func headEnd() -> Int? { indexOf([13, 10, 13, 10]) }

    private func indexOf(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        return buffer.withUnsafeBufferPointer { b in
            var i = 0
            while i <= b.count - needle.count {
                if b[i] == needle[0] {
                    var j = 1
                    while j < needle.count && b[i + j] == needle[j] { j += 1 }
                    if j == needle.count { return i }
                }
                i += 1
            }
            return nil
        }
    }

    // MARK: - socket

    private func waitFor(_ events: Int16, deadline: Date, what: String) throws {
        while true {
            let ms = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&pfd, 1, ms)
            if rc > 0 { return }
            if rc < 0 && errno == EINTR { continue }
            if rc == 0 { throw HarnessError("timed out waiting for \(what)") }
            throw HarnessError("poll failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Reads what is available (at least one byte or end of stream) before `deadline`.
    private func fill(deadline: Date, what: String = "data") throws {
        try waitFor(Int16(POLLIN), deadline: deadline, what: what)
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<n])
        } else if n == 0 || errno == ECONNRESET {
            peerClosed = true
        } else if errno != EINTR && errno != EAGAIN {
            throw HarnessError("recv failed: \(String(cString: strerror(errno)))")
        }
    }
}
