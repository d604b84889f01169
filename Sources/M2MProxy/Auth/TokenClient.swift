/// A worker loop's side of the shared token cache (DESIGN.md §1, §5). The `TokenCache` with its
/// fetches and timers lives on the control loop; a worker reads published tokens from the
/// slots' `TokenBoardSlot`s without a lock, parks requests that find none on its own loop, and
/// asks the control loop (one message per slot, however many requests park) to get one. The
/// control loop answers with `wake`, on this loop, once a token or a failure is there.
///
/// Loop-confined: one per worker.
final class TokenClient {
    enum Acquire {
        case ready
        case parked
    }

    /// What this loop last saw of a slot, plus its parked requests.
    private struct Local {
        var version: UInt64 = .max
        var token: CachedToken?
        var waiters: [ClientConnection] = []
        /// The seq of a token this loop saw rejected (401 invalid_token): not sent again even
        /// if the control loop has not withdrawn it yet.
        var rejectedSeq: UInt64 = 0
    }

    unowned(unsafe) let worker: Worker
    let workerID: Int
    private let control: Mailbox<ControlMessage>
    private var board: [TokenBoardSlot]
    private var local: [Local]

    init(worker: Worker, workerID: Int, control: Mailbox<ControlMessage>, board: [TokenBoardSlot]) {
        self.worker = worker
        self.workerID = workerID
        self.control = control
        self.board = board
        local = Array(repeating: Local(), count: board.count)
    }

    /// A reload added slots (slots never go away).
    func setBoard(_ board: [TokenBoardSlot]) {
        self.board = board
        while local.count < board.count { local.append(Local()) }
    }

    /// The token this loop may send for `slot` now, refreshing its copy when the board moved on.
    private func usable(_ slot: Int) -> CachedToken? {
        let b = board[slot]
        if b.currentVersion != local[slot].version {
            let (token, version) = b.read()
            local[slot].token = token
            local[slot].version = version
        }
        guard let t = local[slot].token, worker.now < t.sendUntil, t.seq != local[slot].rejectedSeq else { return nil }
        return t
    }

    // MARK: data path

    /// Proceeds with the current token, or parks `client` until the control loop has one (or
    /// a failure: then `tokenFailed` runs).
    func acquire(slot: Int, for client: ClientConnection) -> Acquire {
        if let t = usable(slot) {
            board[slot].noteUse(t)
            // Used after its refresh point (the control loop's timer may have found the key
            // idle then): ask for a refresh once per token, not once per request.
            if worker.now >= t.refreshAt && !t.refreshRequested.exchange(true, ordering: .relaxed) {
                control.post(.refreshDue(slot: slot, seq: t.seq))
            }
            return .ready
        }
        worker.tokenWaits += 1
        local[slot].waiters.append(client)
        if local[slot].waiters.count == 1 {
            control.post(.needToken(slot: slot, worker: workerID))
        }
        return .parked
    }

    /// The current `Authorization` line for a slot, borrowed for one synchronous write (this
    /// loop's copy keeps it alive), and the seq of the token it carries (for `invalidate`).
    func headerLine(slot: Int) -> (line: ByteSpan, token: UInt64)? {
        guard let t = usable(slot) else { return nil }
        return (t.headerLine.span, t.seq)
    }

    /// An upstream answered 401 `invalid_token` to token `seq`: never send it again from this
    /// loop, and let the control loop drop it (once, not a newer one) and fetch anew.
    func invalidate(slot: Int, token seq: UInt64) {
        local[slot].rejectedSeq = seq
        control.post(.tokenRejected(slot: slot, seq: seq))
    }

    func unpark(_ client: ClientConnection, slot: Int) {
        if let i = local[slot].waiters.firstIndex(where: { $0 === client }) { local[slot].waiters.remove(at: i) }
    }

    func waitTimeoutError(slot: Int) -> ProxyError {
        var why = "no token within \(worker.limits.tokenWaitMs) ms: timeout waiting for the token endpoint"
        if slot < board.count, let last = board[slot].lastErrorMessage { why += " (last error: \(last))" }
        return .tokenUnavailable(why, retryAfterSeconds: 1)
    }

    // MARK: from the control loop

    /// A fetch for `slot` ended (or a token was there already): parked requests go on, or fail
    /// with the reason rather than wait out token_wait_ms.
    func wake(slot: Int, failure: TokenFailure?) {
        guard slot < local.count, !local[slot].waiters.isEmpty else { return }
        let waiters = local[slot].waiters
        local[slot].waiters.removeAll()
        if let failure {
            let error = ProxyError.tokenUnavailable(failure.message, retryAfterSeconds: failure.retryAfterSeconds)
            for w in waiters { w.tokenFailed(error) }
        } else {
            // A request that still finds no usable token (it expired meanwhile, or this loop
            // rejected it) parks again and asks again.
            for w in waiters { w.tokenReady() }
        }
    }
}

@available(*, unavailable)
extension TokenClient: Sendable {}
