/// The HTTP/1.1 status line of a response that arrived without one: an HTTP/2 upstream's
/// `:status` (HTTP/2 has no reason phrase, RFC 9113 §8.3.2) relayed to an HTTP/1.1 client.
/// The phrase is the registered one (RFC 9110 §15, and the IANA HTTP Status Code Registry for
/// the codes of other RFCs); a code without one gets none, as nginx writes it (its
/// `ngx_http_status_lines` table, then `"%03ui "`): `HTTP/1.1 299 \r\n`, the space kept
/// (RFC 9112 §4: only the phrase is optional). Static strings in a switch: nothing is
/// allocated or formatted per response.
enum HTTPStatusLine {
    static func reasonPhrase(_ status: Int) -> StaticString {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 102: "Processing"
        case 103: "Early Hints"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 203: "Non-Authoritative Information"
        case 204: "No Content"
        case 205: "Reset Content"
        case 206: "Partial Content"
        case 207: "Multi-Status"
        case 208: "Already Reported"
        case 226: "IM Used"
        case 300: "Multiple Choices"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 305: "Use Proxy"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Range Not Satisfiable"
        case 417: "Expectation Failed"
        case 421: "Misdirected Request"
        case 422: "Unprocessable Content"
        case 423: "Locked"
        case 424: "Failed Dependency"
        case 425: "Too Early"
        case 426: "Upgrade Required"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 451: "Unavailable For Legal Reasons"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        case 506: "Variant Also Negotiates"
        case 507: "Insufficient Storage"
        case 508: "Loop Detected"
        case 511: "Network Authentication Required"
        default: ""
        }
    }

    /// Appends `HTTP/1.1 <status> <reason>\r\n`. `status` has three digits (nghttp2 refuses any
    /// other `:status`); only its last three are written.
    static func append(_ status: Int, to out: inout [UInt8]) {
        let s = status % 1000
        ("HTTP/1.1 " as StaticString).withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(UInt8(48 + s / 100))
        out.append(UInt8(48 + s / 10 % 10))
        out.append(UInt8(48 + s % 10))
        out.append(UInt8(ascii: " "))
        reasonPhrase(s).withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(13)
        out.append(10)
    }
}
