/// What worker loops ask of the control loop (token economy, scrapes, shutdown).
enum ControlMessage: Sendable {
    /// A request on `worker` found no usable token for `slot` and parked.
    case needToken(slot: Int, worker: Int)
    /// An upstream answered 401 invalid_token to the token numbered `seq` (DESIGN.md §5).
    case tokenRejected(slot: Int, seq: UInt64)
    /// The token numbered `seq` was used after its refresh point.
    case refreshDue(slot: Int, seq: UInt64)
    /// A worker's answer to `WorkerMessage.scrapeMetrics`.
    case metrics(scrape: Int, worker: Int, WorkerMetrics)
    /// A worker applied the reload numbered `generation`.
    case reloaded(generation: Int, worker: Int)
    /// A worker loop drained (or hit its drain deadline) and its thread is about to end.
    case stopped(worker: Int)
}

/// What the control loop tells a worker loop.
enum WorkerMessage: Sendable {
    /// A fetch for `slot` ended: parked requests go on (nil) or fail with the reason.
    case token(slot: Int, failure: TokenFailure?)
    /// SIGHUP: the validated configuration, the token slot of every route (nil: no credential)
    /// and every slot's board (slots only grow).
    case reload(ProxyConfig, tokenSlots: [Int?], board: [TokenBoardSlot], generation: Int)
    /// SIGTERM/SIGINT.
    case drain(timeoutMs: Int)
    case scrapeMetrics(scrape: Int)
}

/// One worker's counters at scrape time: a copy, summed by the control loop.
struct WorkerMetrics: Sendable {
    var worker: Int
    var requests: RequestMetrics
    var tokenWaits: Int
    var openConnections: Int
    var activeRequests: Int
    /// Bytes of free buffers in the worker's pool.
    var bufferPoolBytes: Int = 0
    /// One entry per https upstream pool of the loop.
    var tlsHandshakes: [MetricsSnapshot.TLSHandshakeCount] = []
}
