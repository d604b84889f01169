/// The worker is the Upstream layer's environment (its limits, log and ejection counter).
extension Worker: UpstreamEnvironment {}
