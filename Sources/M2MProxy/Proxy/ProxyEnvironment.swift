/// What the phases read of the loop that runs them: settings, the route table and the clock,
/// nothing else (no handle, no buffer pool). `Worker` conforms (`Worker+ProxyEnvironment`); unit
/// tests pass a plain value. Phases take it as a generic parameter, never as an existential, so
/// on the data path each read is the worker's own property, specialised and inlined.
protocol ProxyEnvironment {
    var limits: LimitsConfig { get }
    var config: ProxyConfig { get }
    /// Draining: no request is kept alive after its response.
    var isDraining: Bool { get }
    /// The current router, borrowed (`RouteTable.routerRef`); nil before the first config.
    var routerRef: Unmanaged<Router>? { get }
    /// Any `allow_cidrs` configured: only then is the client address checked per request.
    var hasAccessControl: Bool { get }
    /// The route's upstream cluster (endpoints and their pools), by `CompiledRoute.upstreamSlot`.
    func upstreamCluster(_ slot: Int) -> Unmanaged<UpstreamCluster>
    /// Loop time in milliseconds.
    var now: UInt64 { get }
    /// Generates X-Request-Id values.
    var requestIDs: RequestIDGenerator { get }
    /// "/": the target forwarded for "http://host" (absolute-form without a path).
    var slash: ByteSpan { get }
}
