/// A table while the document is parsed: mutable, shared by reference, and aware of how it came
/// to exist, which decides whether a later header or dotted key may add to it.
///
/// A class (and `TOMLTableArrayBuilder` beside it) because the parser keeps adding to tables
/// deep inside the tree; value types nested in enums would be copied on each addition, making
/// a file of N routes cost O(N²). `freeze()` turns the finished tree into `TOMLTable` values.
final class TOMLTableBuilder {
    /// How the table came to exist (TOML 1.0 "Table" section).
    enum Origin: Equatable {
        /// As a parent named by a header (`a` in `[a.b]`): a later `[a]` may still define it.
        case implicit
        /// By a `[header]`, as an `[[array]]` element, as the root or as an inline table: never
        /// defined again, and dotted keys of other sections must not extend it.
        case defined
        /// By dotted keys (`a.b = 1`) in the section with this number: that section may add
        /// more dotted keys to it, no header may define it.
        case dotted(section: Int)
    }

    enum Entry {
        case value(TOMLValue)
        case table(TOMLTableBuilder)
        case tableArray(TOMLTableArrayBuilder)
    }

    var origin: Origin
    private var keys: [String] = []
    private var entries: [Entry] = []
    /// By bytes, as `TOMLTable`'s (the two must agree, or `freeze()` would trap on a key
    /// the builder took for new).
    private var index: [TOMLKey: Int] = [:]

    init(origin: Origin) {
        self.origin = origin
    }

    subscript(key: String) -> Entry? {
        index[TOMLKey(key)].map { entries[$0] }
    }

    /// Adds a key the table does not hold yet (callers check first: they know the error's text).
    func add(_ key: String, _ entry: Entry) {
        index[TOMLKey(key)] = entries.count
        keys.append(key)
        entries.append(entry)
    }

    func freeze() -> TOMLTable {
        var table = TOMLTable()
        for (key, entry) in zip(keys, entries) {
            switch entry {
            case .value(let value):
                table.append(key: key, value: value)
            case .table(let builder):
                table.append(key: key, value: .table(builder.freeze()))
            case .tableArray(let array):
                table.append(key: key, value: .array(array.elements.map { .table($0.freeze()) }))
            }
        }
        return table
    }
}

/// The elements of an `[[array of tables]]` so far; the last one is the one being filled.
final class TOMLTableArrayBuilder {
    var elements: [TOMLTableBuilder] = []
}
