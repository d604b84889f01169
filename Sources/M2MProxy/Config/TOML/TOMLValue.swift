/// One TOML 1.0 value, as `TOMLParser` produces it.
enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    /// An offset or local date-time, a local date or a local time: validated, then kept as
    /// written. No configuration key takes one, so nothing needs its parts; a getter that meets
    /// one reports a type error like for any other wrong type.
    case datetime(String)
    case array([TOMLValue])
    case table(TOMLTable)

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var integer: Int64? {
        if case .integer(let number) = self { return number }
        return nil
    }

    var boolean: Bool? {
        if case .boolean(let flag) = self { return flag }
        return nil
    }

    var array: [TOMLValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    var table: TOMLTable? {
        if case .table(let table) = self { return table }
        return nil
    }
}
