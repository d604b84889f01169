import Foundation

/// Requests to the proxy's admin listener (`server.admin_listen`), and its outputs parsed.
struct AdminClient {
    let port: UInt16

    /// Waits until the admin port accepts connections (it is bound right after the proxy port).
    init(port: UInt16) throws {
        self.port = port
        try Wait.until("the admin port \(port) to accept connections") { Wait.canConnect(port: port) }
    }

    func request(_ method: String, _ path: String, timeout: Double = 10) throws -> HTTPResponse {
        let c = try RawHTTPConnection(port: port, timeout: timeout)
        try c.send("\(method) \(path) HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\n\r\n")
        return try c.readResponse(head: method == "HEAD")
    }

    func get(_ path: String) throws -> HTTPResponse { try request("GET", path) }
    func post(_ path: String, timeout: Double = 10) throws -> HTTPResponse { try request("POST", path, timeout: timeout) }

    /// `/metrics` as sample → value (`name{labels}` exactly as printed).
    func metrics() throws -> [String: Double] {
        let r = try get("/metrics")
        guard r.status == 200 else { throw HarnessError("/metrics answered \(r.summary)") }
        var out: [String: Double] = [:]
        for line in r.bodyText.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let v = Double(line[line.index(after: space)...]) else {
                throw HarnessError("bad metrics line: \(line)")
            }
            out[String(line[..<space])] = v
        }
        return out
    }

    /// `/upstreams`: endpoint objects of route `route`, by address.
    func upstreams(route: String) throws -> [String: [String: Any]] {
        let r = try get("/upstreams")
        guard r.status == 200, let list = try JSONSerialization.jsonObject(with: Data(r.body)) as? [[String: Any]] else {
            throw HarnessError("/upstreams answered \(r.summary)")
        }
        var out: [String: [String: Any]] = [:]
        for entry in list where entry["route"] as? String == route {
            for e in entry["endpoints"] as? [[String: Any]] ?? [] { out[e["address"] as? String ?? "?"] = e }
        }
        return out
    }

    /// `/tokens` as an array of objects.
    func tokens() throws -> [[String: Any]] {
        let r = try get("/tokens")
        guard r.status == 200, let list = try JSONSerialization.jsonObject(with: Data(r.body)) as? [[String: Any]] else {
            throw HarnessError("/tokens answered \(r.summary)")
        }
        return list
    }
}

extension TestConfig {
    /// Turns the admin listener on at a free port; returns the port.
    mutating func enableAdmin() throws -> UInt16 {
        let port = try FreePort.pick()
        server["admin_listen"] = "\"127.0.0.1:\(port)\""
        return port
    }
}

extension ProxyTestBed {
    /// The usual single-credential setup (route "main" for "/", token from the double) with the
    /// admin endpoint on: the bed and a client of its admin port.
    static func withAdmin(label: String) throws -> (ProxyTestBed, AdminClient) {
        var adminPort: UInt16 = 0
        let bed = try ProxyTestBed(label: label) { c, up, tok in
            adminPort = try c.enableAdmin()
            c.credentials = [credential(tok)]
            c.routes = [.init(name: "main", upstream: up.url, credential: "idp", resource: "https://api.test", scopes: ["read"])]
        }
        return (bed, try AdminClient(port: adminPort))
    }
}

extension ProxyProcess {
    /// Access-log lines on stdout so far, parsed (other lines are skipped).
    var accessLog: [[String: Any]] {
        process.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    /// Waits (the log is flushed every 100 ms) until at least `count` access-log lines exist.
    func waitForAccessLog(count: Int, timeout: Double = 5) throws -> [[String: Any]] {
        var lines: [[String: Any]] = []
        try Wait.until("\(count) access-log line(s) on stdout", timeout: timeout) {
            lines = accessLog
            return lines.count >= count
        }
        return lines
    }
}
