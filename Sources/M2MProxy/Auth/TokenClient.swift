/// A worker loop's side of the shared token cache (DESIGN.md §1, §5). The `TokenCache` with its
/// fetches and timers lives on the control loop; a worker reads published tokens from the
/// slots' `TokenBoardSlot`s without a lock (`TokenView`), parks requests that find none on its
/// own loop, and asks the control loop (one message per slot, however many requests park) to
/// get one. The control loop answers with `wake`, on this loop, once a token or a failure is
/// there.
///
/// Loop-confined: one per worker.
final class TokenClient {
    enum Acquire {
        case ready
        case parked
    }

    let workerID: Int
    /// Requests that had to wait for a token on this loop (m2m_token_cache_waits_total).
    private(set) var waits = 0
    private let control: Mailbox<ControlMessage>
    /// One view per slot, owned here (see `TokenView` for why not a Swift array).
    private var views: UnsafeMutablePointer<TokenView>
    private var slotCount: Int
    /// Requests parked per slot (existentials: parking is the slow path).
    private var waiters: [[any TokenWaiter]]

    init(workerID: Int, control: Mailbox<ControlMessage>, board: [TokenBoardSlot]) {
        self.workerID = workerID
        self.control = control
        slotCount = board.count
        views = .allocate(capacity: max(board.count, 1))
        for (i, b) in board.enumerated() { (views + i).initialize(to: TokenView(board: b)) }
        waiters = Array(repeating: [], count: board.count)
    }

    deinit {
        for i in 0..<slotCount { views[i].dispose() }
        views.deallocate()
    }

    /// A reload added slots (slots never go away; existing views are kept).
    func setBoard(_ board: [TokenBoardSlot]) {
        guard board.count > slotCount else { return }
        let grown = UnsafeMutablePointer<TokenView>.allocate(capacity: board.count)
        grown.moveInitialize(from: views, count: slotCount)
        views.deallocate()
        for i in slotCount..<board.count { (grown + i).initialize(to: TokenView(board: board[i])) }
        views = grown
        slotCount = board.count
        while waiters.count < board.count { waiters.append([]) }
    }

    /// Whether this loop may send `slot`'s token now, refreshing its view when the board moved.
    /// `now` is the caller's loop time.
    /// Inlined (into `acquire`, per request): a call for three compares otherwise.
    @inline(__always)
    private func usable(_ slot: Int, now: UInt64) -> Bool {
        let v = views + slot
        if v.pointee.isStale { v.pointee.refresh() }
        let s = v.pointee.seq
        return s != 0 && now < v.pointee.sendUntil && s != v.pointee.rejectedSeq
    }

    // MARK: data path

    /// Proceeds with the current token, or parks `waiter` until the control loop has one (or
    /// a failure: then `tokenFailed` runs). Generic, so the data path passes its connection
    /// without boxing it; only parking stores an existential.
    func acquire<Waiter: TokenWaiter>(slot: Int, for waiter: Waiter, now: UInt64) -> Acquire {
        if usable(slot, now: now) {
            let v = views + slot
            v.pointee.noteUse()
            // Used after its refresh point (the control loop's timer may have found the key
            // idle then): ask for a refresh once per token, not once per request.
            if now >= v.pointee.refreshAt && v.pointee.claimRefreshRequest() {
                control.post(.refreshDue(slot: slot, seq: v.pointee.seq))
            }
            return .ready
        }
        waits += 1
        waiters[slot].append(waiter)
        if waiters[slot].count == 1 {
            control.post(.needToken(slot: slot, worker: workerID))
        }
        return .parked
    }

    /// The current `Authorization` line for a slot, borrowed for one synchronous write (this
    /// loop's view keeps it alive), and the seq of the token it carries (for `invalidate`).
    func headerLine(slot: Int, now: UInt64) -> (line: ByteSpan, token: UInt64)? {
        guard usable(slot, now: now) else { return nil }
        return (views[slot].line, views[slot].seq)
    }

    /// `headerLine` without its check, for the send that follows `acquire` returning `.ready`
    /// within the same synchronous call (nothing on this loop ran in between, so the token is
    /// still usable: the check would be the same one again; callgrind: ~50 instructions per
    /// request).
    @inline(__always)
    func acquiredLine(slot: Int) -> (line: ByteSpan, token: UInt64) {
        let v = views + slot
        return (v.pointee.line, v.pointee.seq)
    }

    /// An upstream answered 401 `invalid_token` to token `seq`: never send it again from this
    /// loop, and let the control loop drop it (once, not a newer one) and fetch anew.
    func invalidate(slot: Int, token seq: UInt64) {
        views[slot].rejectedSeq = seq
        control.post(.tokenRejected(slot: slot, seq: seq))
    }

    func unpark(_ waiter: some TokenWaiter, slot: Int) {
        if let i = waiters[slot].firstIndex(where: { $0 === waiter }) { waiters[slot].remove(at: i) }
    }

    /// Why a request waited `waitedMs` (token_wait_ms) in vain, with the last fetch error.
    func waitTimeoutFailure(slot: Int, waitedMs: Int) -> TokenFailure {
        var why = "no token within \(waitedMs) ms: timeout waiting for the token endpoint"
        if slot < slotCount, let last = views[slot].lastErrorMessage { why += " (last error: \(last))" }
        return TokenFailure(message: why, retryAfterSeconds: 1)
    }

    // MARK: from the control loop

    /// A fetch for `slot` ended (or a token was there already): parked requests go on, or fail
    /// with the reason rather than wait out token_wait_ms.
    func wake(slot: Int, failure: TokenFailure?) {
        guard slot < waiters.count, !waiters[slot].isEmpty else { return }
        let parked = waiters[slot]
        waiters[slot].removeAll()
        if let failure {
            for w in parked { w.tokenFailed(failure) }
        } else {
            // A request that still finds no usable token (it expired meanwhile, or this loop
            // rejected it) parks again and asks again.
            for w in parked { w.tokenReady() }
        }
    }
}

@available(*, unavailable)
extension TokenClient: Sendable {}
