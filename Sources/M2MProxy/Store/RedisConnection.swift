/// One TCP (or TLS) connection to a Redis/Valkey server or sentinel, on the control loop: the
/// proxy's own libuv stream, with hiredis only turning bytes into replies (`RESPDecoder`).
/// Replies are handed up in order; the owner matches them to its commands (RESP answers a
/// pipeline in order).
final class RedisConnection: UVStream {
    /// What the owner hears: `ready` once (TCP and TLS up), then replies, then `ended` once.
    enum Event {
        case ready
        case reply(RESPValue)
        case ended(String)
    }

    private let decoder = RESPDecoder()
    private var handler: ((Event) -> Void)?
    private var done = false

    /// `handler` runs on the loop; after `.ended` (or `shut()`) it is never called again.
    init(io: LoopIO, handler: @escaping (Event) -> Void) {
        self.handler = handler
        super.init(io: io)
    }

    /// Connects to `address`; `tls`: a verified TLS session with `serverName`.
    func open(_ address: SocketAddress, tls: (context: TLSContext, serverName: String)?) {
        if let tls, !enableClientTLS(tls.context, serverName: tls.serverName, resume: nil) {
            end("cannot create a TLS connection")
            return
        }
        do throws(UVError) {
            try connect(to: address)
        } catch {
            end("connect failed: \(error.message)")
        }
    }

    /// Sends one or more formatted commands (pipelined).
    func send(_ bytes: [UInt8]) {
        guard !done, !bytes.isEmpty else { return }
        if let err = bytes.withUnsafeBytes({ write($0.baseAddress!, $0.count) }) {
            end("write failed: \(err.message)")
        }
    }

    /// Closes without telling the owner (it asked).
    func shut() {
        done = true
        handler = nil
        close()
    }

    override func onConnect(_ error: UVError?) {
        guard !done else { return }
        if let error {
            end(error == .eproto ? "TLS handshake failed: \(tlsFailure ?? "unknown error")" : "connect failed: \(error.message)")
            return
        }
        setNoDelay()
        startReading()
        handler?(.ready)
    }

    override func onRead(_ data: UnsafeRawBufferPointer) {
        guard !done else { return }
        do throws(RESPDecoder.ProtocolError) {
            try decoder.feed(data)
            while !done, let reply = try decoder.next() {
                handler?(.reply(reply))
            }
        } catch {
            end("protocol error: \(error.message)")
        }
    }

    override func onReadEnd(_ error: UVError) {
        end(error == .eof ? "connection closed by the server" : error == .eproto ? "TLS failed: \(tlsFailure ?? "unknown error")" : "connection failed: \(error.message)")
    }

    override func onWriteDone(_ error: UVError?) {
        if let error, error != .ecanceled { end("write failed: \(error.message)") }
    }

    override func onTimer() {
        end("connect timed out")
    }

    private func end(_ why: String) {
        guard !done else { return }
        done = true
        let h = handler
        handler = nil
        close()
        h?(.ended(why))
    }
}
