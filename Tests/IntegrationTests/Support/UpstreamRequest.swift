/// One request as recorded by `Tests/Fixtures/upstream.py`.
struct UpstreamRequest: Decodable {
    let method: String
    let target: String
    let path: String
    let version: String
    /// `[name, value]` pairs in wire order.
    let headers: [[String]]
    let bodyLen: Int
    let bodySha256: String
    /// The proxy's source port: one value per upstream connection.
    let remotePort: Int
    let connId: Int
    /// Requests before this one on the same connection.
    let connIndex: Int
    /// Set on requests the fixture read and then dropped without answering (`/close-next`).
    let dropped: Bool?
    /// A chunked request's trailer fields, `[name, value]` (nil when it was not chunked).
    let trailers: [[String]]?

    enum CodingKeys: String, CodingKey {
        case method, target, path, version, headers
        case bodyLen = "body_len", bodySha256 = "body_sha256", remotePort = "remote_port"
        case connId = "conn_id", connIndex = "conn_index", dropped, trailers
    }

    func header(_ name: String) -> String? { headerValues(name).first }

    func headerValues(_ name: String) -> [String] {
        headers.filter { $0.first?.lowercased() == name.lowercased() }.map { $0.count > 1 ? $0[1] : "" }
    }

    var headerNames: [String] { headers.compactMap { $0.first?.lowercased() } }
}
