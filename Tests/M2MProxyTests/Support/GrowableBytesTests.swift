import Testing
@testable import M2MProxy

@Suite struct GrowableBytesTests {
    private func text(_ b: GrowableBytes) -> String { String(decoding: b.bytes, as: UTF8.self) }

    @Test func growsKeepingWhatWasWritten() {
        let b = GrowableBytes(capacity: 4)
        b.append("GET")
        b.append(" ")
        let long = Array(repeating: UInt8(ascii: "a"), count: 100)
        long.withUnsafeBytes { b.append($0) }
        #expect(b.count == 104 && b.capacity >= 104)
        #expect(text(b) == "GET " + String(repeating: "a", count: 100))
        let other = GrowableBytes(capacity: 16)
        other.append(b)
        #expect(text(other) == text(b))
    }

    @Test func appendsFieldLinesGrowingAsNeeded() {
        let b = GrowableBytes(capacity: 16)
        for (n, v) in [("accept", "*/*"), ("x-long", String(repeating: "v", count: 40)), ("x-empty", "")] {
            Array(n.utf8).withUnsafeBytes { nb in Array(v.utf8).withUnsafeBytes { b.appendLine(nb, $0) } }
        }
        b.appendLine(UnsafeRawBufferPointer(start: nil, count: 0), UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(text(b) == "accept: */*\r\nx-long: \(String(repeating: "v", count: 40))\r\nx-empty: \r\n: \r\n")
    }

    /// `reset(keep: 0)` on an area already at the 16-byte minimum keeps its storage (it was
    /// reallocated on every reset: an allocation per HTTP/2 request body).
    @Test func resetAtTheMinimumKeepsTheStorage() {
        let b = GrowableBytes(capacity: 16)
        b.append("0123456789")
        let storage = b.base
        b.reset(keep: 0)
        #expect(b.isEmpty && b.capacity == 16 && b.base == storage)
    }

    @Test func resetKeepsOrGivesBackStorage() {
        let b = GrowableBytes(capacity: 16)
        for _ in 0..<10 { b.append("0123456789") }
        let grown = b.capacity
        b.reset()
        #expect(b.isEmpty && b.capacity == grown)
        b.append("HEAD")
        #expect(b.equals("HEAD") && !b.equals("HEA") && !b.equals("head"))
        b.reset(keep: 32)
        #expect(b.isEmpty && b.capacity == 32)
        b.append(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(b.isEmpty)
    }
}
