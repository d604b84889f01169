extension ConfigLoader {
    /// A route's `upstream`: one URL, or a list of URLs that share scheme and path (DESIGN.md §3).
    /// Every problem names its key path (`route[1].upstream[2]`); nil when there was one.
    static func decodeUpstreams(_ reader: TableReader) -> [EndpointURL]? {
        guard reader.contains("upstream") else {
            reader.diagnostics.error(reader.path("upstream"), "is required")
            return nil
        }
        guard let entries = reader.stringOrStringArray("upstream") else { return nil }
        guard !entries.isEmpty else {
            reader.diagnostics.error(reader.path("upstream"), "must not be an empty list")
            return nil
        }
        var urls: [EndpointURL] = []
        var failed = false
        for entry in entries {
            if let problem = listProblem(entry.value) {
                reader.diagnostics.error(entry.keyPath, problem)
                failed = true
                continue
            }
            switch EndpointURLParser.parse(entry.value, kind: .upstream) {
            case .success(let url):
                if let first = urls.first {
                    if url.scheme != first.scheme {
                        reader.diagnostics.error(entry.keyPath, "scheme \(url.scheme.rawValue) differs from \(first.scheme.rawValue) in \(entries[0].keyPath) (all endpoints of a route share scheme and path)")
                        failed = true
                    } else if url.path != first.path {
                        reader.diagnostics.error(entry.keyPath, "path differs from \(entries[0].keyPath) (all endpoints of a route share scheme and path)")
                        failed = true
                    } else if urls.contains(url) {
                        reader.diagnostics.error(entry.keyPath, "duplicate endpoint (listed twice)")
                        failed = true
                    }
                }
                urls.append(url)
            case .failure(let error):
                reader.diagnostics.error(entry.keyPath, entry.value.isEmpty ? "must not be empty" : error.message)
                failed = true
            }
        }
        return failed ? nil : urls
    }

    /// `"http://a:80,http://b:80"` or `"http://a http://b"`: several URLs in one string. Said
    /// plainly, instead of the parser's complaint about a host that looks like an IPv6 address.
    private static func listProblem(_ text: String) -> String? {
        let separated = text.contains(",") || text.contains(" ")
        let schemes = text.ranges(of: "://").count
        guard separated && schemes > 1 else { return nil }
        return "holds several URLs in one string: write a list, e.g. upstream = [\"http://api-1:8080\", \"http://api-2:8080\"]"
    }

    /// A route's `balance`; nil (after an error) when it is not a known policy.
    static func decodeBalance(_ reader: TableReader) -> BalancePolicy? {
        guard let text = reader.string("balance") else {
            return reader.contains("balance") ? nil : .roundRobin
        }
        guard let policy = BalancePolicy(rawValue: text) else {
            reader.diagnostics.error(reader.path("balance"), "must be \"round_robin\" or \"least_request\"")
            return nil
        }
        return policy
    }
}
