import Testing
@testable import M2MProxy

/// A response head's fields copied into the stream's area with the names lowercased (nghttp2
/// takes them as they are), the copying way once the area is full, and the lowercasing itself.
@Suite struct H2FieldListTests {
    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func responseHeadIsCopiedIntoTheAreaLowercased() {
        let f = H2FieldList(capacity: 1024)
        let area = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { area.deallocate() }
        f.removeAll(copyingInto: area)
        f.addStatus(204)
        var name = bytes("Content-Type"), value = bytes("Text/Plain")
        name.withUnsafeBytes { n in value.withUnsafeBytes { f.borrow(name: n, value: $0) } }
        // The caller's bytes may go: the list kept its own copy.
        name = bytes("XXXXXXXXXXXX")
        value = bytes("XXXXXXXXXX")
        #expect(f.field(at: 0) == (bytes(":status"), bytes("204"), true))
        #expect(f.field(at: 1) == (bytes("content-type"), bytes("Text/Plain"), true))
        // 3 + 22 of 64 bytes used: a 40-byte field no longer fits and is left to nghttp2.
        let long = bytes("X-Long-" + String(repeating: "n", count: 33))
        long.withUnsafeBytes { n in bytes("").withUnsafeBytes { f.borrow(name: n, value: $0) } }
        #expect(f.field(at: 2) == (long, [], false))
        #expect(f.count == 3)
    }

    @Test func withoutAnAreaFieldsAreLeftToTheSubmit() {
        let f = H2FieldList(capacity: 1024)
        f.removeAll()
        f.addStatus(200)
        #expect(f.field(at: 0).name == bytes(":status") && f.field(at: 0).value == bytes("200"))
        // Borrowed: the caller's bytes, read while they are valid.
        bytes("Server").withUnsafeBytes { n in
            bytes("x").withUnsafeBytes { v in
                f.borrow(name: n, value: v)
                #expect(f.field(at: 1) == (bytes("Server"), bytes("x"), false))
            }
        }
    }

    @Test func copiesLowercasingOnlyASCIILetters() {
        // Every byte value, at every offset of the eight-byte steps, and lengths around them.
        let all = (0..<256).map { UInt8($0) }
        for start in 0..<8 {
            for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 64, 65, 200] {
                let src = Array((all + all)[start..<(start + n)])
                var out = [UInt8](repeating: 0, count: n)
                src.withUnsafeBytes { s in
                    out.withUnsafeMutableBytes { d in
                        if n > 0 { H2FieldList.copy(s.baseAddress!, n, to: d.baseAddress!, lower: true) }
                    }
                }
                #expect(out == src.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, "start \(start) n \(n)")
                var same = [UInt8](repeating: 0, count: n)
                src.withUnsafeBytes { s in
                    same.withUnsafeMutableBytes { d in
                        if n > 0 { H2FieldList.copy(s.baseAddress!, n, to: d.baseAddress!, lower: false) }
                    }
                }
                #expect(same == src, "start \(start) n \(n)")
            }
        }
    }
}
