import Testing
@testable import M2MProxy

extension ConfigTests {
    @Suite struct EnvExpanderTests {
        let env = ["HOST": "api", "PORT": "8080", "EMPTY": ""]

        func expand(_ text: String) -> Result<String, ConfigValueError> {
            EnvExpander.expand(text, environment: env)
        }

        @Test func plainTextIsUnchanged() {
            #expect(expand("http://api:8080/v1") == .success("http://api:8080/v1"))
            #expect(expand("") == .success(""))
        }

        @Test func replacesVariables() {
            #expect(expand("http://${HOST}:${PORT}/v1") == .success("http://api:8080/v1"))
            #expect(expand("${HOST}") == .success("api"))
        }

        @Test func setButEmptyVariableExpandsToEmpty() {
            #expect(expand("a${EMPTY}b") == .success("ab"))
        }

        @Test func defaultIsUsedWhenUnsetOrEmpty() {
            #expect(expand("${NOPE:-fallback}") == .success("fallback"))
            #expect(expand("${EMPTY:-fallback}") == .success("fallback"))
            #expect(expand("${HOST:-fallback}") == .success("api"))
            #expect(expand("${NOPE:-}") == .success(""))
            #expect(expand("${NOPE:-http://x:1/y}") == .success("http://x:1/y"))
        }

        @Test func missingVariableNamesIt() {
            #expect(expand("${UPSTREAM_URL}") == .failure(ConfigValueError("environment variable UPSTREAM_URL is not set")))
        }

        @Test func dollarWithoutBraceStaysLiteral() {
            #expect(expand("pa$word") == .success("pa$word"))
            #expect(expand("end$") == .success("end$"))
            #expect(expand("$$") == .success("$$"))
            #expect(expand("a$$b") == .success("a$$b"))
            #expect(expand("$${HOST}") == .success("$${HOST}"))
            #expect(expand("$HOST") == .success("$HOST"))
        }

        @Test func malformedReferencesAreErrorsWithoutEchoingText() {
            for text in ["${HOST", "se${cret", "${}", "${1A}", "${A-B}", "${A:x}", "${A:}"] {
                guard case .failure(let error) = expand(text) else {
                    Issue.record("\(text) should fail")
                    continue
                }
                #expect(!error.message.contains("cret"))
            }
        }

        @Test func expandedValuesAreNotExpandedAgain() {
            #expect(EnvExpander.expand("${A}", environment: ["A": "${B}", "B": "x"]) == .success("${B}"))
        }
    }
}
