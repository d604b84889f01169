/// A request parked in `TokenClient` until its token slot has a token or a failure. This is all
/// Auth knows of a request (STYLE.md §1): Proxy's client connection implements it and turns a
/// failure into its answer.
protocol TokenWaiter: AnyObject {
    /// A token may be there now: acquire again (it may park again if the token was already
    /// unusable for this loop).
    func tokenReady()
    func tokenFailed(_ failure: TokenFailure)
}
