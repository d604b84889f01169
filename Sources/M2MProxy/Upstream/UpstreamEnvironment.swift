/// What the Upstream layer needs from its loop besides I/O (`LoopIO`: the loop, buffers,
/// resolver, clock): the current limits, the log, and where an ejection is reported. `Worker`
/// conforms, so Upstream names nothing above it (STYLE.md §1). Only failure and set-up paths
/// call through this existential; the per-request path reads `LoopIO`.
protocol UpstreamEnvironment: AnyObject {
    /// `[limits]` as of the last reload.
    var limits: LimitsConfig { get }
    var log: Log { get }
    /// An endpoint was ejected (metrics and `/upstreams`).
    func endpointEjected(label: String, forMs ms: Int)
}
