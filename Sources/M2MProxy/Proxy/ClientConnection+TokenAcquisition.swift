/// Token acquisition, the third phase (routes with a credential): the loop's `TokenClient`
/// has a usable token, or parks the request until the control loop has one or a failure
/// (answered 503 `token_unavailable`, or 503 after `token_wait_ms`).
extension ClientConnection: TokenWaiter {
    /// Proceeds with a valid token, parks until the cache has one, or fails.
    func awaitToken(slot: Int) {
        switch worker.tokensRef._withUnsafeGuaranteedRef({ $0.acquire(slot: slot, for: self, now: worker.now) }) {
        case .ready:
            // An upstream connection taken from the pool sends the request within this call:
            // its token line needs no second check (`TokenClient.acquiredLine`). Anything later
            // (a connect, a queue) checks again.
            request.tokenJustAcquired = true
            driver.tokenAcquired(self)
            request.tokenJustAcquired = false
        case .parked:
            if reqLog.tokenWaitStartNs == 0 { reqLog.tokenWaitStartNs = worker.hrNow }
            state = .waitingToken
            // One token_wait_ms per request, however many times it parks (a 401 replay, a token
            // that expired before the head was sent).
            let now = worker.now
            if request.tokenWaitDeadline == 0 { request.tokenWaitDeadline = now + UInt64(worker.limits.tokenWaitMs) }
            startTimer(ms: request.tokenWaitDeadline > now ? Int(request.tokenWaitDeadline - now) : 1)
        }
    }

    // MARK: token cache callbacks

    func tokenReady() {
        guard state == .waitingToken else { return }
        stopTimer()
        driver.tokenAcquired(self)
    }

    func tokenFailed(_ failure: TokenFailure) {
        guard state == .waitingToken else { return }
        stopTimer()
        respond(ProxyError(failure))
    }
}
