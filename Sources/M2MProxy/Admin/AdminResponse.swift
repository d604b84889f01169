/// An admin answer: status, content type and body, always `Connection: close`.
struct AdminResponse: Equatable {
    var status: Int
    var contentType: String
    var body: String
    /// The `Allow` header of a 405.
    var allow: String? = nil

    static func json(_ status: Int, _ value: JSONValue) -> AdminResponse {
        AdminResponse(status: status, contentType: "application/json", body: JSONWriter.write(value))
    }

    static func error(_ status: Int, _ code: String, _ message: String) -> AdminResponse {
        json(status, .object(["error": .string(code), "message": .string(message)]))
    }

    var reason: String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Content Too Large"
        case 431: "Request Header Fields Too Large"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }

    var bytes: [UInt8] {
        let body = Array(self.body.utf8)
        var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        head += "Cache-Control: no-store\r\nConnection: close\r\n"
        if let allow { head += "Allow: \(allow)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }
}
