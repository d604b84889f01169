import Foundation
import Testing
@testable import M2MProxy

extension ConfigTests {
    @Suite struct ConfigFileReaderTests {
        @Test(arguments: [
            ("s3cret\n", "s3cret"),
            ("s3cret\r\n", "s3cret"),
            ("s3cret", "s3cret"),
            ("s3cret\n\n", "s3cret\n"),
            ("  spaced  \n", "  spaced  "),
            ("a\nb\n", "a\nb"),
        ])
        func stripsOneTrailingNewline(content: String, expected: String) throws {
            let directory = try ConfigTestSupport.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("secret")
            try ConfigTestSupport.write(content, to: file)
            #expect(ConfigFileReader.readSecretText(path: file.path) == .success(expected))
        }

        @Test func missingFileGivesOSReason() {
            #expect(
                ConfigFileReader.readAll(path: "/nonexistent/m2m/secret", maxBytes: 10)
                    == .failure(ConfigValueError("No such file or directory")))
        }

        @Test func directoryIsAnError() {
            #expect(
                ConfigFileReader.readAll(path: "/", maxBytes: 10) == .failure(ConfigValueError("Is a directory")))
        }

        @Test func sizeLimit() throws {
            let directory = try ConfigTestSupport.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("big")
            try ConfigTestSupport.write(String(repeating: "x", count: 100), to: file)
            #expect(ConfigFileReader.readAll(path: file.path, maxBytes: 10) == .failure(ConfigValueError("file is larger than 10 bytes")))
            #expect(try ConfigFileReader.readAll(path: file.path, maxBytes: 100).get().count == 100)
        }

        @Test func invalidUTF8() throws {
            let directory = try ConfigTestSupport.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("bin")
            try Data([0xFF, 0xFE, 0x0A]).write(to: file)
            #expect(ConfigFileReader.readSecretText(path: file.path) == .failure(ConfigValueError("file is not valid UTF-8")))
        }
    }
}
