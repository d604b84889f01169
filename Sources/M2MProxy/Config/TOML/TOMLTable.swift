/// A TOML table: its keys in file order, with a dictionary beside them for lookups.
///
/// File order is what a reader of the file expects (and what `[[route]]` semantics need for
/// arrays); callers that want another order sort explicitly.
struct TOMLTable: Sendable, Equatable {
    private(set) var entries: [(key: String, value: TOMLValue)] = []
    /// Key → position in `entries`, so a lookup costs the same in a 10,000-key table. Keyed by
    /// bytes (`TOMLKey`), not by `String`'s canonical equivalence.
    private var index: [TOMLKey: Int] = [:]

    init() {}

    var keys: [String] { entries.map(\.key) }
    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    func contains(key: String) -> Bool {
        index[TOMLKey(key)] != nil
    }

    subscript(key: String) -> TOMLValue? {
        index[TOMLKey(key)].map { entries[$0].value }
    }

    /// Adds a key the table does not hold yet; the parser has checked that (a duplicate is a
    /// syntax error with a position, which only the parser knows).
    mutating func append(key: String, value: TOMLValue) {
        precondition(index[TOMLKey(key)] == nil, "duplicate TOML key")
        index[TOMLKey(key)] = entries.count
        entries.append((key, value))
    }

    static func == (lhs: TOMLTable, rhs: TOMLTable) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
