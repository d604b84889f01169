/// Finds the valid key an operator probably meant when a config key is unknown
/// (`upsteam` → `upstream`), for the "did you mean" hint of `m2m-proxy check`.
///
/// The candidates are the keys the section's decoder asked for (`TableReader` records them), so the
/// valid keys are defined in one place only: the decoders.
enum KeySuggestion {
    /// The candidate nearest to `key`, if it is close enough to be a typo: an edit distance of at
    /// most a third of the candidate's length (1 for short keys, at most 3), ties going to the
    /// first candidate in sorted order so the hint is the same on every run.
    static func closest(to key: String, among candidates: some Sequence<String>) -> String? {
        var best: (key: String, distance: Int)?
        for candidate in candidates.sorted() where candidate != key {
            let allowed = min(3, max(1, candidate.count / 3))
            let d = distance(key, candidate)
            guard d <= allowed, d < candidate.count else { continue }
            if d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        return best?.key
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    /// neighbouring characters (`upsrteam`) each cost 1.
    static func distance(_ a: String, _ b: String) -> Int {
        let s = Array(a.unicodeScalars), t = Array(b.unicodeScalars)
        if s.isEmpty { return t.count }
        if t.isEmpty { return s.count }
        var previous2 = [Int](repeating: 0, count: t.count + 1)
        var previous = Array(0...t.count)
        var current = [Int](repeating: 0, count: t.count + 1)
        for i in 1...s.count {
            current[0] = i
            for j in 1...t.count {
                let cost = s[i - 1] == t[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, s[i - 1] == t[j - 2], s[i - 2] == t[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[t.count]
    }
}
