import Foundation

/// Reads a fixture's log: one JSON object per line.
enum JSONLines {
    static func decode<T: Decodable>(_ type: T.Type, file: String) throws -> [T] {
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            try decoder.decode(T.self, from: Data(line))
        }
    }
}
