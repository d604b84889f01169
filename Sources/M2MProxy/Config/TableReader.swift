/// Reads typed keys from one TOML table on behalf of a section decoder.
///
/// Every string it hands out has had `${VAR}` expanded. It remembers which keys were asked for so
/// that `reportUnknownKeys()` can turn everything else into an error: an operator's typo
/// (`uptream = …`) must fail loudly instead of silently doing nothing. Type and expansion problems
/// are recorded here with the full key path and the getter returns nil, so decoders only decide
/// about defaults and cross-key rules.
final class TableReader {
    let table: TOMLTable
    /// Key path of this table, e.g. `route[2]` or `credential.logto`; "" for the document root.
    let keyPath: String
    let environment: [String: String]
    let diagnostics: ConfigDiagnostics
    private var readKeys: Set<String> = []

    init(table: TOMLTable, keyPath: String, environment: [String: String], diagnostics: ConfigDiagnostics) {
        self.table = table
        self.keyPath = keyPath
        self.environment = environment
        self.diagnostics = diagnostics
    }

    /// The key path of `key` in this table.
    func path(_ key: String) -> String {
        Self.join(keyPath, key)
    }

    /// `parent.key`, quoting `key` the way TOML would when it is not a bare key.
    static func join(_ parent: String, _ key: String) -> String {
        let isBare = !key.isEmpty && key.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        let written = isBare ? key : "\"\(key)\""
        return parent.isEmpty ? written : "\(parent).\(written)"
    }

    /// Whether the key is present; counts as reading it.
    func contains(_ key: String) -> Bool {
        readKeys.insert(key)
        return table.contains(key: key)
    }

    /// The raw value; counts as reading the key.
    func value(_ key: String) -> TOMLValue? {
        readKeys.insert(key)
        return table[key]
    }

    func string(_ key: String, required: Bool = false) -> String? {
        guard let value = value(key) else {
            if required { diagnostics.error(path(key), "is required") }
            return nil
        }
        return expandedString(value, keyPath: path(key))
    }

    /// A string that must not be empty after expansion.
    func nonEmptyString(_ key: String, required: Bool = false) -> String? {
        guard let text = string(key, required: required) else { return nil }
        guard !text.isEmpty else {
            diagnostics.error(path(key), "must not be empty")
            return nil
        }
        return text
    }

    func int(_ key: String) -> Int? {
        guard let value = value(key) else { return nil }
        // TOML integers are 64-bit, as Int is on every platform the proxy builds for.
        guard let wide = value.integer, let number = Int(exactly: wide) else {
            diagnostics.error(path(key), "must be an integer")
            return nil
        }
        return number
    }

    func bool(_ key: String) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let flag = value.boolean else {
            diagnostics.error(path(key), "must be true or false")
            return nil
        }
        return flag
    }

    /// An array of strings, each expanded; nil if absent or if any element is bad.
    func stringArray(_ key: String) -> [(value: String, keyPath: String)]? {
        guard let value = value(key) else { return nil }
        guard let array = value.array else {
            diagnostics.error(path(key), "must be an array of strings")
            return nil
        }
        return strings(of: array, keyPath: path(key))
    }

    /// A single string or an array of strings (as `server.listen` allows).
    func stringOrStringArray(_ key: String) -> [(value: String, keyPath: String)]? {
        guard let value = value(key) else { return nil }
        if case .string = value {
            return expandedString(value, keyPath: path(key)).map { [($0, path(key))] }
        }
        guard let array = value.array else {
            diagnostics.error(path(key), "must be a string or an array of strings")
            return nil
        }
        return strings(of: array, keyPath: path(key))
    }

    /// A sub-table (`[server]`, `[credential.NAME]`); inline tables count too.
    func table(_ key: String) -> TableReader? {
        guard let value = value(key) else { return nil }
        guard let table = value.table else {
            diagnostics.error(path(key), "must be a table")
            return nil
        }
        return TableReader(table: table, keyPath: path(key), environment: environment, diagnostics: diagnostics)
    }

    /// Like `table(_:)`, but an absent section reads as an empty table so its defaults apply.
    func section(_ key: String) -> TableReader {
        table(key)
            ?? TableReader(table: TOMLTable(), keyPath: path(key), environment: environment, diagnostics: diagnostics)
    }

    /// Records an error for every key that no getter asked for, with the nearest key that was
    /// asked for as a hint: the keys a decoder reads are the keys valid here.
    ///
    /// In byte order of the keys, not file order: TOMLKit (toml++), the parser before
    /// `TOMLParser`, kept keys in a sorted map, and `m2m-proxy check`'s output stays as it was.
    func reportUnknownKeys() {
        for key in Self.sortedKeys(table) where !readKeys.contains(key) {
            if let hint = KeySuggestion.closest(to: key, among: readKeys) {
                diagnostics.error(path(key), "unknown key; did you mean \"\(hint)\"?")
            } else {
                diagnostics.error(path(key), "unknown key")
            }
        }
    }

    /// The table's keys ordered by their UTF-8 bytes, as toml++'s `std::map<std::string, …>` was.
    static func sortedKeys(_ table: TOMLTable) -> [String] {
        table.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private func strings(of array: [TOMLValue], keyPath: String) -> [(value: String, keyPath: String)]? {
        var result: [(value: String, keyPath: String)] = []
        var failed = false
        for index in 0..<array.count {
            let elementPath = "\(keyPath)[\(index)]"
            if let text = expandedString(array[index], keyPath: elementPath) {
                result.append((text, elementPath))
            } else {
                failed = true
            }
        }
        return failed ? nil : result
    }

    private func expandedString(_ value: TOMLValue, keyPath: String) -> String? {
        guard let raw = value.string else {
            diagnostics.error(keyPath, "must be a string")
            return nil
        }
        switch EnvExpander.expand(raw, environment: environment) {
        case .success(let text):
            return text
        case .failure(let error):
            diagnostics.error(keyPath, error.message)
            return nil
        }
    }
}

@available(*, unavailable)
extension TableReader: Sendable {}
