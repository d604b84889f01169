/// Every way a request can fail, with where it came from (pingora's `ErrorSource` habit).
/// `status` and `code` are the one mapping to HTTP (DESIGN.md §4), tested in one place.
enum ProxyError: Equatable {
    case badRequest(String)
    case headerTooLarge
    case bodyTooLarge
    case requestTimeout
    case noRoute
    case forbidden
    case overloaded
    /// The route's `max_upstream_connections` stayed in use for `connect_timeout_ms`.
    case upstreamBusy(limit: Int)
    case upstreamUnavailable(String)
    case upstreamTimeout(String)
    case tokenUnavailable(String, retryAfterSeconds: Int)

    var status: Int {
        switch self {
        case .badRequest: 400
        case .headerTooLarge: 431
        case .bodyTooLarge: 413
        case .requestTimeout: 408
        case .noRoute: 404
        case .forbidden: 403
        case .overloaded, .upstreamBusy: 503
        case .upstreamUnavailable: 502
        case .upstreamTimeout: 504
        case .tokenUnavailable: 503
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
        case .forbidden: "forbidden"
        case .overloaded, .upstreamBusy: "overloaded"
        case .upstreamUnavailable: "upstream_unavailable"
        case .upstreamTimeout: "upstream_timeout"
        case .tokenUnavailable: "token_unavailable"
        }
    }

    var message: String {
        switch self {
        case .badRequest(let m): m
        case .headerTooLarge: "request head exceeds limits.max_header_bytes"
        case .bodyTooLarge: "request body exceeds limits.max_body_bytes"
        case .requestTimeout: "request was not received in time"
        case .noRoute: "no route matches this request"
        case .forbidden: "client address not allowed"
        case .overloaded: "too many open connections (limits.max_connections); retry later"
        case .upstreamBusy(let limit): "all \(limit) upstream connections of this route are busy (route max_upstream_connections); retry later"
        case .upstreamUnavailable(let m): m
        case .upstreamTimeout(let m): m
        case .tokenUnavailable(let m, _): m
        }
    }

    var reasonPhrase: String {
        switch status {
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 431: "Request Header Fields Too Large"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Error"
        }
    }

    /// 400, 408, 413 and 431 leave the connection in an unknown framing state: close after them.
    var closesConnection: Bool {
        switch self {
        case .badRequest, .headerTooLarge, .bodyTooLarge, .requestTimeout: true
        default: false
        }
    }

    /// The complete response. Error paths may build strings; the success path never does.
    func responseBytes(keepAlive: Bool) -> [UInt8] {
        let body = "{\"error\":\"\(code)\",\"message\":\"\(jsonEscaped(message))\"}"
        var head = "HTTP/1.1 \(status) \(reasonPhrase)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nCache-Control: no-store\r\n"
        if case .tokenUnavailable(_, let retry) = self {
            head += "Retry-After: \(max(retry, 1))\r\n"
        } else if status == 503 {
            head += "Retry-After: 1\r\n"
        }
        head += keepAlive ? "\r\n" : "Connection: close\r\n\r\n"
        return Array(head.utf8) + Array(body.utf8)
    }
}
