import Testing
@testable import M2MProxy

extension ConfigTests {
    @Suite struct KeySuggestionTests {
        @Test(arguments: [
            ("upsteam", "upstream", 1),
            ("upsrteam", "upstream", 1),   // neighbours swapped
            ("upstream", "upstream", 0),
            ("", "host", 4),
            ("path_perfix", "path_prefix", 1),
            ("colour", "host", 5),
        ])
        func distance(a: String, b: String, expected: Int) {
            #expect(KeySuggestion.distance(a, b) == expected)
            #expect(KeySuggestion.distance(b, a) == expected)
        }

        @Test func closestIsNearEnoughOrNothing() {
            let keys = ["name", "host", "path_prefix", "methods", "upstream", "credential", "resource", "scopes"]
            #expect(KeySuggestion.closest(to: "upsteam", among: keys) == "upstream")
            #expect(KeySuggestion.closest(to: "scope", among: keys) == "scopes")
            #expect(KeySuggestion.closest(to: "credentials", among: keys) == "credential")
            #expect(KeySuggestion.closest(to: "nam", among: keys) == "name")
            // Short keys allow one edit only: "hst" is host, "xyz" is nothing.
            #expect(KeySuggestion.closest(to: "hst", among: keys) == "host")
            #expect(KeySuggestion.closest(to: "xyz", among: keys) == nil)
            #expect(KeySuggestion.closest(to: "timeout", among: keys) == nil)
            #expect(KeySuggestion.closest(to: "a", among: [String]()) == nil)
        }
    }

    @Suite struct RouteKeyPathTests {
        @Test func namedRoutesShowNameAndIndex() {
            #expect(RouteKeyPath.of(index: 0, name: "shopping") == "route \"shopping\" (route[0])")
            #expect(RouteKeyPath.of(index: 2, name: nil) == "route[2]")
            #expect(RouteKeyPath.of(index: 1, name: "a\"b") == "route \"a\\\"b\" (route[1])")
        }
    }
}
