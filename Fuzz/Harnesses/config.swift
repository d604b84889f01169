// libFuzzer target: ConfigLoader.parse(text:environment:) on arbitrary text (TOMLParser
// included). Invariants: never crashes; config != nil exactly when errors is empty
// (ConfigLoadResult.init also preconditions this); every error has a message.
@testable import M2MProxy

private let environment = [
    "LOGTO_APP_ID": "app-id", "LOGTO_APP_SECRET": "s3cr$t", "EMPTY": "",
    "LOGTO_TOKEN_URL": "http://logto:3001/oidc/token",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    // The loader takes a String (ConfigLoader.load rejects invalid UTF-8 before it): feed only
    // valid UTF-8 so that mutations are not wasted on repairs.
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return -1 }
    let result = ConfigLoader.parse(text: text, environment: environment)
    if (result.config == nil) != !result.errors.isEmpty { fatalError("invariant: config iff no errors") }
    for e in result.errors where e.message.isEmpty { fatalError("invariant: error without a message") }
    if let config = result.config {
        // A frozen config must compile into routes the way Worker does it.
        for (i, r) in config.routes.enumerated() {
            _ = CompiledRoute(index: i, config: r, upstreamSlot: 0, tokenSlot: r.credentialIndex)
        }
    }
    return 0
}
