/// A table key as an index key: equal when the UTF-8 bytes are.
///
/// Swift's `String` compares by canonical equivalence, so `"\u{E9}"` (é) and `"e\u{301}"` (e
/// and a combining accent) would be one key. TOML 1.0 compares keys as written, as tomllib and
/// toml++ do: two keys that only look alike are two keys, not a duplicate.
struct TOMLKey: Hashable {
    let string: String

    init(_ string: String) {
        self.string = string
    }

    static func == (lhs: TOMLKey, rhs: TOMLKey) -> Bool {
        lhs.string.utf8.elementsEqual(rhs.string.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var copy = string
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
