import Foundation

/// A real nginx as an HTTP/2 upstream: h2c prior knowledge (`listen … http2`) or TLS with or
/// without `http2` (ALPN h2 or HTTP/1.1 only). Every answer says what nginx saw:
/// `proto=<server_protocol> auth=<Authorization> path=<request_uri>`, except `/big.bin` (2 MiB)
/// and `/status/201`, `/status/404`, `/status/299` (that status, a short body).
final class NginxH2Upstream {
    let dir: TempDir
    let process: ChildProcess
    let port: UInt16

    enum Mode { case h2c, tlsH2, tlsHTTP1 }

    init(_ mode: Mode, in dir: TempDir) throws {
        self.dir = dir
        port = try FreePort.pick()
        let pki = try TestPKI.get()
        let server = pki.pair("server")
        let listen: String
        switch mode {
        case .h2c: listen = "listen 127.0.0.1:\(port) http2;"
        case .tlsH2: listen = "listen 127.0.0.1:\(port) ssl http2; ssl_certificate \(server.cert); ssl_certificate_key \(server.key);"
        case .tlsHTTP1: listen = "listen 127.0.0.1:\(port) ssl; ssl_certificate \(server.cert); ssl_certificate_key \(server.key);"
        }
        let conf = """
            daemon off;
            worker_processes 1;
            pid \(dir.file("nginx-\(port).pid"));
            error_log \(dir.file("nginx-\(port).error.log"));
            events { worker_connections 256; }
            http {
              access_log off;
              client_body_temp_path \(dir.file("nginx-body"));
              proxy_temp_path \(dir.file("nginx-proxy"));
              fastcgi_temp_path \(dir.file("nginx-fcgi"));
              uwsgi_temp_path \(dir.file("nginx-uwsgi"));
              scgi_temp_path \(dir.file("nginx-scgi"));
              server {
                \(listen)
                location = /big.bin { root \(dir.path); }
                location = /status/201 { return 201 "created\\n"; }
                location = /status/404 { return 404 "not found\\n"; }
                location = /status/299 { return 299 "unregistered\\n"; }
                location / { return 200 "proto=$server_protocol auth=$http_authorization path=$request_uri\\n"; }
              }
            }
            """
        // /big.bin: 2 MiB of a fixed pattern, for flow-control tests.
        let big = dir.file("big.bin")
        if !FileManager.default.fileExists(atPath: big) {
            FileManager.default.createFile(atPath: big, contents: Data((0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }))
        }
        let path = try dir.write("nginx-\(port).conf", conf)
        process = try ChildProcess(
            name: "nginx-\(port)", executable: "/usr/sbin/nginx",
            arguments: ["-c", path, "-e", dir.file("nginx-\(port).error.log")], in: dir)
        try Wait.until("nginx listens on \(port)", timeout: 10) { Wait.canConnect(port: port) }
    }
}
