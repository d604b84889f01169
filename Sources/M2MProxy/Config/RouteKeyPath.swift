/// The key path of a `[[route]]` entry in config problems: `route "shopping" (route[0])` when the
/// route has a valid `name`, else `route[0]` (DESIGN.md §2: indexes are 0-based in file order).
///
/// Operators know their routes by name; the index stays so the entry can be found in a file whose
/// routes are unnamed or share a prefix, and so `route[N]` remains greppable.
enum RouteKeyPath {
    static func of(index: Int, name: String?) -> String {
        guard let name else { return "route[\(index)]" }
        var quoted = ""
        for character in name {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return "route \"\(quoted)\" (route[\(index)])"
    }

    /// The key path of a decoded route: its name counts only when it was written in the file (the
    /// default name `route<N>` adds nothing to the index).
    static func of(index: Int, route: RouteConfig) -> String {
        of(index: index, name: route.name == "route\(index)" ? nil : route.name)
    }
}
