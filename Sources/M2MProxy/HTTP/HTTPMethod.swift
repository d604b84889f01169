private import CLLHTTP

/// The method names a route may list, with llhttp's numeric codes (what `HTTPParser.methodCode`
/// reports for a request).
///
/// `llhttp_method_name` aborts on a code it does not know, so the table is read once over the
/// codes llhttp 9 defines (0 ... HTTP_QUERY, contiguous) and never probed past them: a route with
/// `methods = ["FOO"]` used to abort the proxy at start (found by the config fuzzer). PRI (the
/// HTTP/2 preface) and the RTSP-only methods are left out: llhttp refuses them in an HTTP/1.x
/// request, so a route naming them could never match and `check` says so instead.
enum HTTPMethod {
    static let codes: [(name: String, code: Int)] = {
        var table: [(name: String, code: Int)] = []
        for code in 0...Int(HTTP_QUERY.rawValue) where code != Int(HTTP_PRI.rawValue) && !rtspOnly.contains(code) {
            guard let cName = llhttp_method_name(llhttp_method_t(UInt32(code))) else { continue }
            table.append((String(cString: cName), code))
        }
        return table
    }()

    /// DESCRIBE ... FLUSH: methods llhttp accepts only with an RTSP/1.0 version.
    private static let rtspOnly = Int(HTTP_DESCRIBE.rawValue)...Int(HTTP_FLUSH.rawValue)

    /// llhttp's code for an upper-case method name, or nil when llhttp would not accept it in an
    /// HTTP/1.x request line.
    static func code(named name: String) -> Int? {
        codes.first { $0.name == name }?.code
    }
}

extension HTTPMethod {
    /// llhttp's code for the methods HTTP/2 requests mostly carry (exact upper-case bytes, as
    /// llhttp matches them), nil for any other: an HTTP/2 stream with another method has its head
    /// parsed by llhttp itself (`H2RequestHead.methodCode`). `HTTPMethodTests` checks each code
    /// against llhttp's parse.
    static func commonCode(_ m: UnsafeRawBufferPointer) -> Int? {
        switch m.count {
        case 3:
            if same(m, "GET") { return Int(HTTP_GET.rawValue) }
            if same(m, "PUT") { return Int(HTTP_PUT.rawValue) }
        case 4:
            if same(m, "POST") { return Int(HTTP_POST.rawValue) }
            if same(m, "HEAD") { return Int(HTTP_HEAD.rawValue) }
        case 5:
            if same(m, "PATCH") { return Int(HTTP_PATCH.rawValue) }
            if same(m, "TRACE") { return Int(HTTP_TRACE.rawValue) }
        case 6:
            if same(m, "DELETE") { return Int(HTTP_DELETE.rawValue) }
        case 7:
            if same(m, "OPTIONS") { return Int(HTTP_OPTIONS.rawValue) }
        default:
            break
        }
        return nil
    }

    /// Byte-exact equality with a literal of the same length.
    private static func same(_ m: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        let p = s.utf8Start
        for i in 0..<m.count where m[i] != p[i] { return false }
        return true
    }
}
