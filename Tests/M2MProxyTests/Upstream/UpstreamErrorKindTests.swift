import Testing
@testable import M2MProxy

/// The `kind` label of m2m_upstream_errors_total and the access log's upstream_error.
@Suite struct UpstreamErrorKindTests {
    @Test func labelsAreDistinctSnakeCase() {
        let labels = UpstreamErrorKind.allCases.map(\.label)
        #expect(Set(labels).count == labels.count)
        #expect(labels.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "_" } })
    }

    @Test func lostConnectionKinds() {
        #expect(UpstreamErrorKind.lost(.eof) == .closed)
        #expect(UpstreamErrorKind.lost(.eproto) == .tls)
        #expect(UpstreamErrorKind.lost(.econnrefused) == .reset)
    }
}
