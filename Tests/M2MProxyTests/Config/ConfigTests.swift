import Testing

/// Groups every Config unit test so `swift test --filter M2MProxyTests.Config` runs them all.
@Suite enum ConfigTests {}
