import Glibc

/// Reads whole small files (the config file, `*_file` secrets) with plain POSIX calls, so the
/// config code needs no Foundation.
///
/// Errors carry the OS reason (`strerror`), never any of the file's content.
enum ConfigFileReader {
    /// The largest config file we accept; anything bigger is certainly a mistake.
    static let maxConfigBytes = 4 << 20
    /// The largest `*_file` secret or id we accept (a Docker secret is a short token).
    static let maxSecretBytes = 64 << 10

    /// The file's bytes, or the OS reason it could not be read (e.g. "No such file or directory").
    static func readAll(path: String, maxBytes: Int) -> Result<[UInt8], ConfigValueError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(ConfigValueError(reason(errno))) }
        defer { close(fd) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(ConfigValueError(reason(errno)))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maxBytes {
                return .failure(ConfigValueError("file is larger than \(maxBytes) bytes"))
            }
        }
        return .success(bytes)
    }

    /// Reads a `*_file` value: UTF-8 text with exactly one trailing "\n" (or "\r\n") removed, as
    /// `echo secret > file` and Docker secrets leave one.
    static func readSecretText(path: String) -> Result<String, ConfigValueError> {
        switch readAll(path: path, maxBytes: maxSecretBytes) {
        case .failure(let error):
            return .failure(error)
        case .success(var bytes):
            if bytes.last == UInt8(ascii: "\n") {
                bytes.removeLast()
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .failure(ConfigValueError("file is not valid UTF-8"))
            }
            return .success(text)
        }
    }

    private static func reason(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "error \(code)" }
        return String(cString: message)
    }
}
