/// Every way a request can fail, with where it came from (`source`, pingora's `ErrorSource`).
/// `status`, `code` and `responseBytes` are the one mapping to HTTP (DESIGN.md §4; pingora's
/// `fail_to_proxy`), tested in one place (`ProxyErrorTests`). Other layers report their own
/// values (Auth a `TokenFailure`, Upstream a `UVError` or its `UpstreamErrorKind`); Proxy turns
/// them into these.
enum ProxyError: Equatable {
    /// Who caused a failure.
    enum Source: Equatable {
        /// The request (its framing, size, timing, target or address).
        case client
        /// The proxy's own limits.
        case proxy
        /// The upstream: unreachable, failing or too slow.
        case upstream
        /// The token endpoint: no usable token.
        case tokenEndpoint
    }

    case badRequest(String)
    case headerTooLarge
    case bodyTooLarge
    case requestTimeout
    case noRoute
    /// CONNECT: the proxy does not open tunnels to arbitrary hosts.
    case methodNotAllowed(String)
    case forbidden
    case overloaded
    /// The route's `max_upstream_connections` stayed in use for `connect_timeout_ms`.
    case upstreamBusy(limit: Int)
    case upstreamUnavailable(String)
    case upstreamTimeout(String)
    case tokenUnavailable(String, retryAfterSeconds: Int)
    /// gRPC needs HTTP/2 on both sides (DESIGN.md §7). `clientSide`: the client spoke HTTP/1.1;
    /// otherwise the route's upstream does (a configuration to fix: `h2c://` or `http2 = true`).
    case grpcNeedsHTTP2(clientSide: Bool)

    /// A token acquisition that failed (Auth's value): 503 `token_unavailable`, Retry-After as
    /// the cache computed it.
    init(_ failure: TokenFailure) {
        self = .tokenUnavailable(failure.message, retryAfterSeconds: failure.retryAfterSeconds)
    }

    /// An upstream connection that failed before its exchange began (Upstream's value):
    /// 504 when connect_timeout_ms passed, else 502.
    init(upstream kind: UpstreamErrorKind, message: String) {
        self = kind == .connectTimeout || kind == .responseTimeout || kind == .readTimeout ? .upstreamTimeout(message) : .upstreamUnavailable(message)
    }

    var source: Source {
        switch self {
        case .badRequest, .headerTooLarge, .bodyTooLarge, .requestTimeout, .noRoute, .forbidden, .methodNotAllowed: .client
        case .overloaded, .upstreamBusy: .proxy
        case .upstreamUnavailable, .upstreamTimeout: .upstream
        case .tokenUnavailable: .tokenEndpoint
        case .grpcNeedsHTTP2(let clientSide): clientSide ? .client : .proxy
        }
    }

    var status: Int {
        switch self {
        case .badRequest: 400
        case .headerTooLarge: 431
        case .bodyTooLarge: 413
        case .requestTimeout: 408
        case .noRoute: 404
        case .methodNotAllowed: 405
        case .forbidden: 403
        case .overloaded, .upstreamBusy: 503
        case .upstreamUnavailable: 502
        case .upstreamTimeout: 504
        case .tokenUnavailable: 503
        case .grpcNeedsHTTP2(let clientSide): clientSide ? 505 : 502
        }
    }

    /// Fixed strings so logs and metrics group cleanly (h2o's `h2o_httpclient_error_*`).
    var code: String {
        switch self {
        case .badRequest: "bad_request"
        case .headerTooLarge: "header_too_large"
        case .bodyTooLarge: "body_too_large"
        case .requestTimeout: "request_timeout"
        case .noRoute: "no_route"
        case .methodNotAllowed: "method_not_allowed"
        case .forbidden: "forbidden"
        case .overloaded, .upstreamBusy: "overloaded"
        case .upstreamUnavailable: "upstream_unavailable"
        case .upstreamTimeout: "upstream_timeout"
        case .tokenUnavailable: "token_unavailable"
        case .grpcNeedsHTTP2: "grpc_needs_http2"
        }
    }

    var message: String {
        switch self {
        case .badRequest(let m): m
        case .headerTooLarge: "request head exceeds limits.max_header_bytes"
        case .bodyTooLarge: "request body exceeds limits.max_body_bytes"
        case .requestTimeout: "request was not received in time"
        case .noRoute: "no route matches this request"
        case .methodNotAllowed(let m): m
        case .forbidden: "client address not allowed"
        case .overloaded: "too many open connections (limits.max_connections); retry later"
        case .upstreamBusy(let limit): "all \(limit) upstream connections of this route are busy (route max_upstream_connections); retry later"
        case .upstreamUnavailable(let m): m
        case .upstreamTimeout(let m): m
        case .tokenUnavailable(let m, _): m
        case .grpcNeedsHTTP2(let clientSide):
            clientSide
                ? "gRPC needs HTTP/2; this request came over HTTP/1.1"
                : "gRPC needs HTTP/2 to the upstream; this route's upstream speaks HTTP/1.1 (use h2c:// or https with http2 = true)"
        }
    }

    var reasonPhrase: String {
        switch status {
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 431: "Request Header Fields Too Large"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Error"
        }
    }

    /// 400, 408, 413 and 431 leave the connection in an unknown framing state: close after them.
    var closesConnection: Bool {
        switch self {
        case .badRequest, .headerTooLarge, .bodyTooLarge, .requestTimeout, .methodNotAllowed: true
        default: false
        }
    }

    /// The complete response. Error paths may build strings; the success path never does.
    func responseBytes(keepAlive: Bool) -> [UInt8] {
        let body = jsonBody
        var head = "HTTP/1.1 \(status) \(reasonPhrase)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nCache-Control: no-store\r\n"
        if let (name, value) = extraField { head += "\(name): \(value)\r\n" }
        head += keepAlive ? "\r\n" : "Connection: close\r\n\r\n"
        return Array(head.utf8) + Array(body.utf8)
    }

    /// The JSON body: `{"error":code,"message":message}`.
    var jsonBody: String { "{\"error\":\"\(code)\",\"message\":\"\(jsonEscaped(message))\"}" }

    /// The one field an answer carries beyond its framing and Cache-Control, if any.
    var extraField: (name: String, value: String)? {
        if case .tokenUnavailable(_, let retry) = self { return ("Retry-After", "\(max(retry, 1))") }
        if status == 503 { return ("Retry-After", "1") }
        // RFC 9110 §15.5.6: a 405 lists the methods the target takes.
        if status == 405 { return ("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS") }
        return nil
    }
}
