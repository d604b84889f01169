/// Why the harness could not do what a test asked; the text is what a failing test shows.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
