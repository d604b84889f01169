internal import COpenSSL
private import Glibc

/// The TLS state of one `UVStream`: an `SSL` whose BIO reads the ciphertext the stream just
/// received straight from the loop's read buffer and writes ciphertext into the loop's cipher
/// buffer, which is flushed through the stream's ordinary `uv_try_write`/`WriteRequest` path.
/// The stream's owner keeps seeing plaintext in `onRead` and writing plaintext with `write`.
///
/// Rules this type keeps (see `UVStream`):
/// - a client connect is reported only after the handshake, a failed handshake as a connect
///   failure with `failure` saying why;
/// - ciphertext left unread when the owner stops reading is copied here (at most one socket
///   read: the socket stops too) and decrypted when it reads again, from the loop's idle
///   handle, not from inside `startReading`;
/// - bytes TLS writes on its own (handshake, tickets, alerts) never count as the owner's writes.
final class TLSSession {
    enum Phase {
        case handshaking
        case established
        case failed
        case closed
    }

    unowned(unsafe) let stream: UVStream
    unowned(unsafe) let loop: TLSLoopState
    let ssl: OpaquePointer
    let isServer: Bool
    private(set) var phase = Phase.handshaking
    /// Why the handshake or the connection failed, for the owner's error message.
    private(set) var failure: String?

    /// Ciphertext being fed to OpenSSL by the BIO (a borrowed span of the read buffer or `held`).
    private var input: UnsafeRawPointer?
    private var inputCount = 0
    /// Ciphertext the owner was not ready for (backpressure), owned.
    private var held: UnsafeMutableRawPointer?
    private var heldStart = 0
    private var heldCount = 0
    private var heldCapacity = 0
    /// The peer's close_notify or an error seen while the owner was not reading.
    private var heldEnd: UVError?
    /// Plaintext the owner wrote before the handshake finished (a server's early refusal).
    private var early: [UInt8] = []
    private var drainScheduled = false
    /// Inside `received`/`drainHeldInput`/handshake start: owner calls to start/stop reading
    /// are picked up when that finishes instead of re-entering OpenSSL.
    private var processing = false
    /// The server asked for a client certificate and none is configured.
    fileprivate var certificateRequestedWithoutOne = false
    /// Some plaintext came from the peer.
    private var receivedPlaintext = false

    init?(stream: UVStream, context: TLSContext, loop: TLSLoopState, serverName: String?, resume: TLSResumption?) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.ctx), let bio = BIO_new(tlsBIOMethod) else {
            ERR_clear_error()
            return nil
        }
        self.ssl = ssl
        self.stream = stream
        self.loop = loop
        isServer = context.isServer
        BIO_set_data(bio, Unmanaged.passUnretained(self).toOpaque())
        BIO_set_init(bio, 1)
        SSL_set_bio(ssl, bio, bio)
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
        if isServer {
            SSL_set_accept_state(ssl)
        } else {
            if let name = serverName {
                let isIP = IPAddress.parse(name) != nil
                if !isIP {
                    // SNI is for host names only (RFC 6066 §3).
                    // (OpenSSL copies the name.)
                    name.withCString { c in
                        _ = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: c))
                    }
                }
                if context.verifies {
                    let param = SSL_get0_param(ssl)
                    if isIP {
                        X509_VERIFY_PARAM_set1_ip_asc(param, name)
                    } else {
                        X509_VERIFY_PARAM_set_hostflags(param, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
                        SSL_set1_host(ssl, name)
                    }
                }
            }
            // A copy of its own: the pool's session stays resumable whatever this connection does.
            if let resume, let copy = resume.copy() {
                SSL_set_session(ssl, copy)
                SSL_SESSION_free(copy)
            }
            SSL_set_connect_state(ssl)
        }
        ERR_clear_error()
    }

    deinit {
        SSL_free(ssl)
        held?.deallocate()
    }

    var isEstablished: Bool { phase == .established }
    var sessionReused: Bool { SSL_session_reused(ssl) == 1 }

    // MARK: events from the stream

    /// TCP connected (client): send the ClientHello.
    func startClientHandshake() {
        processing = true
        handshakeStep()
        processing = false
        updateSocket()
    }

    /// Ciphertext arrived in the loop's read buffer.
    func received(_ p: UnsafeRawPointer, _ n: Int) {
        processing = true
        input = p
        inputCount = n
        process()
        if inputCount > 0 && !stream.isClosing && phase != .failed { hold(input!, inputCount) }
        input = nil
        inputCount = 0
        processing = false
        updateSocket()
        if phase == .established, stream.isReading, heldCount > 0 || heldEnd != nil { schedule() }
    }

    /// The socket ended (EOF or error) while reading.
    func socketEnded(_ error: UVError) {
        if phase == .handshaking {
            fail(error == .eof ? "connection closed during the TLS handshake" : "connection failed during the TLS handshake: \(error.message)")
            return
        }
        // A socket EOF without close_notify still ends the stream as EOF (HTTP framing tells
        // truncation apart; curl and nginx do the same).
        stream.tlsReadEnded(explain(error))
    }

    func ownerStartedReading() {
        guard !processing else { return }
        if heldEnd != nil || (phase == .established && (heldCount > 0 || SSL_has_pending(ssl) == 1)) {
            schedule()
        }
        updateSocket()
    }

    func ownerStoppedReading() {
        guard !processing else { return }
        updateSocket()
    }

    /// Run from the loop's idle handle after the owner resumed reading.
    func drainHeldInput() {
        drainScheduled = false
        guard stream.isReading, !stream.isClosing else {
            updateSocket()
            return
        }
        if phase == .established {
            drainEstablished()
        }
        if heldCount == 0, let end = heldEnd, stream.isReading, !stream.isClosing {
            heldEnd = nil
            stream.tlsReadEnded(end)
            return
        }
        updateSocket()
    }

    private func drainEstablished() {
        processing = true
        if heldCount > 0, let held {
            input = UnsafeRawPointer(held + heldStart)
            inputCount = heldCount
            process()
            heldStart += heldCount - inputCount
            heldCount = inputCount
            input = nil
            inputCount = 0
            if heldCount == 0 {
                held.deallocate()
                self.held = nil
                heldCapacity = 0
                heldStart = 0
            }
        } else {
            process()
        }
        processing = false
    }

    // MARK: owner writes

    /// Encrypts the pieces (one record for a small multi-piece head) and writes the ciphertext.
    func write(_ iov: IOVecList) -> UVError? {
        switch phase {
        case .established:
            break
        case .handshaking:
            for i in 0..<iov.count {
                let b = iov.bufs[i]
                early.append(contentsOf: UnsafeRawBufferPointer(start: b.base, count: b.len))
            }
            return nil
        case .failed, .closed:
            return .eproto
        }
        if iov.count > 1 && iov.totalBytes <= TLSLoopState.coalesceCapacity {
            var out = 0
            for i in 0..<iov.count {
                let b = iov.bufs[i]
                (loop.coalesce + out).copyMemory(from: b.base!, byteCount: b.len)
                out += b.len
            }
            if !sslWrite(loop.coalesce, out) { return .eproto }
        } else {
            for i in 0..<iov.count {
                let b = iov.bufs[i]
                if !sslWrite(b.base!, b.len) { return .eproto }
            }
        }
        if let e = flush(reports: true) { return explain(e) }
        return nil
    }

    /// A connection dropped before any answer after the server asked for a client certificate
    /// we do not have: with TLS 1.3 its alert can be lost to a reset, so say what happened.
    private func explain(_ error: UVError) -> UVError {
        guard certificateRequestedWithoutOne, !receivedPlaintext, failure == nil else { return error }
        failure = "the server requested a client certificate and none is configured (tls_cert_file, tls_key_file); then: \(error.message)"
        return .eproto
    }

    private func sslWrite(_ p: UnsafeRawPointer, _ n: Int) -> Bool {
        var off = 0
        while off < n {
            let r = SSL_write(ssl, p + off, Int32(min(n - off, 1 << 30)))
            if r <= 0 {
                let e = SSL_get_error(ssl, r)
                failure = describe(e)
                _ = flush(reports: false)
                return false
            }
            off += Int(r)
        }
        return true
    }

    /// Sends close_notify, best effort (never waits for it to leave).
    func close(notify: Bool) {
        if notify && phase == .established {
            SSL_shutdown(ssl)
            ERR_clear_error()
            _ = flush(reports: false)
        }
        phase = .closed
    }

    /// close_notify before a FIN (`shutdownWrite`).
    func shutdown() {
        guard phase == .established else { return }
        SSL_shutdown(ssl)
        ERR_clear_error()
        _ = flush(reports: false)
    }

    // MARK: OpenSSL driving

    private func process() {
        if phase == .handshaking {
            handshakeStep()
        }
        if phase == .established && stream.isReading && !stream.isClosing {
            readPlain()
        }
    }

    private func handshakeStep() {
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            _ = flush(reports: false)
            phase = .established
            if !early.isEmpty {
                let pending = early
                early = []
                pending.withUnsafeBytes { raw in
                    if sslWrite(raw.baseAddress!, raw.count) { _ = flush(reports: true) }
                }
            }
            if !isServer { stream.tlsHandshakeDone() }
            return
        }
        let e = SSL_get_error(ssl, rc)
        _ = flush(reports: false)
        if e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE { return }
        fail(describe(e))
    }

    private func fail(_ reason: String) {
        phase = .failed
        failure = reason
        stream.tlsFailed()
    }

    /// Decrypts into the loop's plaintext buffer and hands it to the owner in chunks of up to
    /// 64 KiB while the owner reads.
    private func readPlain() {
        let buf = loop.plain
        let cap = TLSLoopState.plainCapacity
        var filled = 0
        while stream.isReading && !stream.isClosing {
            let r = SSL_read(ssl, buf + filled, Int32(cap - filled))
            if r > 0 {
                receivedPlaintext = true
                filled += Int(r)
                if filled == cap {
                    _ = flush(reports: false)
                    stream.tlsDeliver(UnsafeRawBufferPointer(start: buf, count: filled))
                    filled = 0
                }
                continue
            }
            let e = SSL_get_error(ssl, r)
            let end: UVError?
            switch e {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                end = nil
            case SSL_ERROR_ZERO_RETURN:
                end = .eof
            default:
                failure = describe(e)
                phase = .failed
                end = .eproto
            }
            _ = flush(reports: false)
            if filled > 0 {
                stream.tlsDeliver(UnsafeRawBufferPointer(start: buf, count: filled))
                filled = 0
            }
            guard let end else { return }
            if stream.isReading && !stream.isClosing {
                stream.tlsReadEnded(end)
            } else if !stream.isClosing {
                heldEnd = end
            }
            return
        }
        _ = flush(reports: false)
        if filled > 0 { stream.tlsDeliver(UnsafeRawBufferPointer(start: buf, count: filled)) }
    }

    /// Writes what OpenSSL produced. `reports`: the write completion is the owner's.
    private func flush(reports: Bool) -> UVError? {
        let n = loop.cipherCount
        guard n > 0 else { return nil }
        loop.cipherCount = 0
        return stream.rawWrite(loop.cipher, n, reports: reports)
    }

    private func hold(_ p: UnsafeRawPointer, _ n: Int) {
        if heldCapacity - heldStart - heldCount < n {
            let cap = max(heldCount + n, 16 * 1024)
            let fresh = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 16)
            if let held {
                fresh.copyMemory(from: held + heldStart, byteCount: heldCount)
                held.deallocate()
            }
            held = fresh
            heldStart = 0
            heldCapacity = cap
        }
        (held! + heldStart + heldCount).copyMemory(from: p, byteCount: n)
        heldCount += n
    }

    private func schedule() {
        guard !drainScheduled else { return }
        drainScheduled = true
        loop.scheduleDrain(stream)
    }

    /// The socket is read during a handshake, and while the owner reads and nothing is held.
    private func updateSocket() {
        let want: Bool
        switch phase {
        case .handshaking:
            want = isServer ? stream.isReading : true
        case .established:
            want = stream.isReading && heldCount == 0 && heldEnd == nil && !drainScheduled
        case .failed, .closed:
            want = false
        }
        stream.setSocketReading(want)
    }

    /// One line saying why OpenSSL failed; clears the thread's error queue.
    private func describe(_ e: Int32) -> String {
        defer { ERR_clear_error() }
        if e == SSL_ERROR_SSL {
            let v = SSL_get_verify_result(ssl)
            if v != X509_V_OK {
                return "certificate verify failed: " + String(cString: X509_verify_cert_error_string(v))
            }
            return TLSError.lastOpenSSLReason()
        }
        if e == SSL_ERROR_SYSCALL { return "connection closed during TLS" }
        return "TLS error \(e)"
    }

    // MARK: BIO callbacks

    fileprivate func bioRead(_ dst: UnsafeMutableRawPointer, _ len: Int) -> Int {
        let n = min(len, inputCount)
        guard n > 0 else { return 0 }
        dst.copyMemory(from: input!, byteCount: n)
        input = input! + n
        inputCount -= n
        return n
    }

    fileprivate func bioWrite(_ src: UnsafeRawPointer, _ len: Int) {
        // Keep the last bytes in the buffer: the final flush of an owner's write then always
        // carries its completion report.
        if loop.cipherCount + len > TLSLoopState.cipherCapacity {
            _ = flush(reports: false)
        }
        if len > TLSLoopState.cipherCapacity {
            _ = stream.rawWrite(src, len - 1, reports: false)
            (loop.cipher).copyMemory(from: src + len - 1, byteCount: 1)
            loop.cipherCount = 1
            return
        }
        (loop.cipher + loop.cipherCount).copyMemory(from: src, byteCount: len)
        loop.cipherCount += len
    }

    fileprivate func newSession(_ s: OpaquePointer) {
        if let kept = TLSResumption(copying: s) { stream.onTLSSession(kept) }
    }
}

@available(*, unavailable)
extension TLSSession: Sendable {}

// MARK: - C callbacks (the session comes from the BIO's or the SSL's data pointer)

@inline(__always)
private func session(ofBIO bio: OpaquePointer?) -> Unmanaged<TLSSession> {
    Unmanaged<TLSSession>.fromOpaque(BIO_get_data(bio)!)
}

private let tlsBIORead: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int32) -> Int32 = { bio, dst, len in
    BIO_clear_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)
    let n = session(ofBIO: bio)._withUnsafeGuaranteedRef { $0.bioRead(UnsafeMutableRawPointer(dst!), Int(len)) }
    if n == 0 {
        BIO_set_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY)
        return -1
    }
    return Int32(n)
}

private let tlsBIOWrite: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = { bio, src, len in
    BIO_clear_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)
    session(ofBIO: bio)._withUnsafeGuaranteedRef { $0.bioWrite(UnsafeRawPointer(src!), Int(len)) }
    return len
}

private let tlsBIOCtrl: @convention(c) (OpaquePointer?, Int32, Int, UnsafeMutableRawPointer?) -> Int = { _, cmd, _, _ in
    // Writes are gathered by the session and flushed after each OpenSSL call.
    cmd == BIO_CTRL_FLUSH ? 1 : 0
}

private let tlsBIOCreate: @convention(c) (OpaquePointer?) -> Int32 = { _ in 1 }

/// One BIO method for every TLS stream of the process (immutable once built).
nonisolated(unsafe) private let tlsBIOMethod: OpaquePointer = {
    let m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "m2m-proxy uv stream")!
    BIO_meth_set_read(m, tlsBIORead)
    BIO_meth_set_write(m, tlsBIOWrite)
    BIO_meth_set_ctrl(m, tlsBIOCtrl)
    BIO_meth_set_create(m, tlsBIOCreate)
    return m
}()

/// `SSL_CTX_sess_set_new_cb`: returns 0, OpenSSL keeps its reference; whoever keeps the
/// session keeps a copy of its own (`TLSResumption`).
let tlsNewSessionCallback: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32 = { ssl, sess in
    guard let sess, let data = SSL_get_ex_data(ssl, 0) else { return 0 }
    Unmanaged<TLSSession>.fromOpaque(data)._withUnsafeGuaranteedRef { $0.newSession(sess) }
    return 0
}

/// `SSL_CTX_set_client_cert_cb` of contexts without a client certificate: note it, send none.
let tlsClientCertificateRequested: @convention(c) (OpaquePointer?, UnsafeMutablePointer<OpaquePointer?>?, UnsafeMutablePointer<OpaquePointer?>?) -> Int32 = { ssl, _, _ in
    if let data = SSL_get_ex_data(ssl, 0) {
        Unmanaged<TLSSession>.fromOpaque(data)._withUnsafeGuaranteedRef { $0.certificateRequestedWithoutOne = true }
    }
    return 0
}
