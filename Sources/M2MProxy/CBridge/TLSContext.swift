internal import COpenSSL
private import Glibc

/// One OpenSSL `SSL_CTX`: a client context per distinct `TLSClientSettings` (verification,
/// trust, client certificate, session cache) or the inbound listener's server context. Built
/// when a worker starts or reloads, never per connection; every `SSL` made from it shares its
/// loaded trust store and certificates.
final class TLSContext {
    let ctx: OpaquePointer
    let isServer: Bool
    /// Whether peers are verified (false only for `tls_insecure_skip_verify`).
    let verifies: Bool

    private init(ctx: OpaquePointer, isServer: Bool, verifies: Bool) {
        self.ctx = ctx
        self.isServer = isServer
        self.verifies = verifies
    }

    deinit { SSL_CTX_free(ctx) }

    /// "http/1.1" in ALPN wire format (length-prefixed).
    private static let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
    /// "h2", then "http/1.1" (`http2 = true` upstreams).
    private static let alpnH2: [UInt8] = [2] + Array("h2".utf8) + alpn

    /// A client context, or what is wrong with the settings' files (one line, no file content).
    static func client(_ s: TLSClientSettings) -> Result<TLSContext, TLSError> {
        ERR_clear_error()
        defer { ERR_clear_error() }
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            return .failure(TLSError("cannot create a TLS context: \(TLSError.lastOpenSSLReason())"))
        }
        let context = TLSContext(ctx: ctx, isServer: false, verifies: !s.insecureSkipVerify)
        SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        if s.insecureSkipVerify {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            // The system store (Debian's ca-certificates: /etc/ssl/certs), then any extra CA file.
            guard SSL_CTX_set_default_verify_paths(ctx) == 1 else {
                return .failure(TLSError("cannot load the system trust store: \(TLSError.lastOpenSSLReason())"))
            }
        }
        if let ca = s.caFile {
            guard SSL_CTX_load_verify_locations(ctx, ca, nil) == 1 else {
                return .failure(TLSError("cannot load CA file '\(ca)': \(TLSError.lastOpenSSLReason())", subject: .caFile))
            }
        }
        if let cert = s.certFile, let key = s.keyFile {
            if let problem = loadCertificate(ctx, cert: cert, key: key) { return .failure(problem) }
        } else {
            // Notes that the server asked for a client certificate we do not have: its refusal
            // may arrive as a reset rather than an alert, and the error should still say why.
            SSL_CTX_set_client_cert_cb(ctx, tlsClientCertificateRequested)
        }
        _ = (s.offersHTTP2 ? alpnH2 : alpn).withUnsafeBufferPointer { SSL_CTX_set_alpn_protos(ctx, $0.baseAddress, UInt32($0.count)) }
        // TLS 1.3 suites, AES-128-GCM/SHA-256 first (OpenSSL lists AES-256-GCM/SHA-384 first;
        // BoringSSL and Go prefer this order): a server that follows the client's preference
        // (nginx's default) then runs the key schedule's HKDF and the transcript hash on SHA-256
        // instead of SHA-384, which made a resumed upstream handshake about 4 % cheaper
        // (README "TLS"), and records take 10 AES rounds instead of 14. All three stay offered.
        _ = SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256")
        // Client-side session cache: OpenSSL hands every new session (TLS 1.3 tickets arrive
        // after the handshake) to the callback, which gives it to the connection's pool; no
        // internal store, the pools are the cache.
        SSL_CTX_ctrl(
            ctx, SSL_CTRL_SET_SESS_CACHE_MODE, Int(SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE), nil)
        SSL_CTX_sess_set_new_cb(ctx, tlsNewSessionCallback)
        SSL_CTX_ctrl(ctx, SSL_CTRL_SET_READ_AHEAD, 1, nil)
        return .success(context)
    }

    /// The inbound listener's context.
    static func server(_ s: TLSServerSettings) -> Result<TLSContext, TLSError> {
        ERR_clear_error()
        defer { ERR_clear_error() }
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            return .failure(TLSError("cannot create a TLS context: \(TLSError.lastOpenSSLReason())"))
        }
        let context = TLSContext(ctx: ctx, isServer: true, verifies: false)
        SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        if let problem = loadCertificate(ctx, cert: s.certFile, key: s.keyFile) { return .failure(problem) }
        // Many idle keep-alive clients: free the record buffers between reads (nginx does the same).
        SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, Int(SSL_MODE_RELEASE_BUFFERS), nil)
        SSL_CTX_set_alpn_select_cb(ctx, tlsALPNSelectCallback, nil)
        return .success(context)
    }

    private static func loadCertificate(_ ctx: OpaquePointer, cert: String, key: String) -> TLSError? {
        guard SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 else {
            return TLSError("cannot load certificate file '\(cert)': \(TLSError.lastOpenSSLReason())", subject: .certFile)
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
            return TLSError("cannot load key file '\(key)': \(TLSError.lastOpenSSLReason())", subject: .keyFile)
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            return TLSError("key file '\(key)' does not match certificate file '\(cert)'", subject: .keyFile)
        }
        return nil
    }
}

@available(*, unavailable)
extension TLSContext: Sendable {}

/// A TLS failure in words (an OpenSSL reason or a verification result), never key material.
struct TLSError: Error, CustomStringConvertible {
    /// Which configured file the error is about, so config errors name the key.
    enum Subject {
        case caFile
        case certFile
        case keyFile
        case other
    }

    let message: String
    let subject: Subject
    init(_ m: String, subject: Subject = .other) {
        message = m
        self.subject = subject
    }
    var description: String { message }

    /// The reason of the most recent OpenSSL error (e.g. "no such file" or "certificate verify
    /// failed"), then the thread's error queue is cleared so it cannot leak into the next
    /// connection's diagnosis.
    static func lastOpenSSLReason() -> String {
        let code = ERR_peek_last_error()
        defer { ERR_clear_error() }
        guard code != 0 else { return "unknown error" }
        if let r = ERR_reason_error_string(code) { return String(cString: r) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buf in
            ERR_error_string_n(code, buf.baseAddress, buf.count)
            return String(cString: buf.baseAddress!)
        }
    }
}

/// Server side of ALPN (DESIGN.md §7): `h2` when the client offers it (the server's preference,
/// as nginx and Envoy choose), else `http/1.1`, else no ALPN (not an error: HTTP/1.1 is spoken).
/// A connection that agreed `h2` is served as HTTP/2 from its first byte (`UVStream.tlsAgreedH2`).
private let tlsALPNSelectCallback: SSL_CTX_alpn_select_cb_func = { _, out, outlen, inp, inlen, _ in
    guard let inp, let out, let outlen else { return SSL_TLSEXT_ERR_NOACK }
    var http11: UnsafePointer<UInt8>?
    var i = 0
    let n = Int(inlen)
    while i < n {
        let len = Int(inp[i])
        guard i + 1 + len <= n else { break }
        let p = UnsafeRawPointer(inp + i + 1)
        if len == 2 && memcmp(p, "h2", 2) == 0 {
            out.pointee = inp + i + 1
            outlen.pointee = 2
            return SSL_TLSEXT_ERR_OK
        }
        if len == 8 && memcmp(p, "http/1.1", 8) == 0 { http11 = inp + i + 1 }
        i += 1 + len
    }
    guard let http11 else { return SSL_TLSEXT_ERR_NOACK }
    out.pointee = http11
    outlen.pointee = 8
    return SSL_TLSEXT_ERR_OK
}
