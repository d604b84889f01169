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
