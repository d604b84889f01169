import Testing
@testable import M2MProxy

/// RFC 9218's `priority` field as the server session applies it (`H2PriorityField`).
@Suite struct H2PriorityFieldTests {
    static func parse(_ s: String) -> H2PriorityField? {
        Array(s.utf8).withUnsafeBytes { H2PriorityField($0) }
    }

    @Test(arguments: [
        ("u=0", 0, false), ("u=7", 7, false), ("i", 3, true), ("i=?1", 3, true), ("i=?0", 3, false),
        ("u=1, i", 1, true), ("u=5,i=?1", 5, true), (" u=2 ,  i ", 2, true), ("u=07", 7, false),
        ("u=1;x=y, i", 1, true), ("x=abc, u=4", 4, false), ("foo, u=6, bar=?1", 6, false), ("", 3, false),
        ("u=-0", 0, false),
    ])
    func validFields(_ s: String, _ urgency: Int, _ incremental: Bool) throws {
        let p = try #require(Self.parse(s), "\(s)")
        #expect(p.urgency == UInt32(urgency) && p.incremental == incremental, "\(s)")
    }

    /// Not a dictionary, `u` not an integer in 0...7, `i` not a boolean: ignored as a whole.
    @Test(arguments: ["u=8", "u=-1", "u=a", "u", "u=", "i=1", "i=?2", "U=1", "u=1,", "1=2", "u=1 i", "u=1234567890123456"])
    func invalidFields(_ s: String) {
        #expect(Self.parse(s) == nil, "\(s)")
    }
}
