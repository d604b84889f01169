/// What one worker loop holds of one token slot: plain values plus two references kept by hand
/// (`RetainedRef`, +1 each), so that the per-request token check does no retain/release at all
/// (callgrind showed ~15 ARC calls per request when the same data sat in a Swift array of
/// classes). `TokenClient` keeps these in a buffer it owns; only `refresh` (when the board's
/// version moved, i.e. a new token) and `dispose` touch reference counts.
struct TokenView {
    private var board: RetainedRef<TokenBoardSlot>
    private var token: RetainedRef<CachedToken>?
    /// The board version this view was taken at (`.max`: never).
    private(set) var version: UInt64 = .max
    /// The held token's number (0: none held), deadlines in loop milliseconds, and its
    /// `Authorization` line (valid while this view holds the token).
    private(set) var seq: UInt64 = 0
    private(set) var sendUntil: UInt64 = 0
    private(set) var refreshAt: UInt64 = 0
    private(set) var line = ByteSpan.empty
    /// A token this loop saw rejected (401 invalid_token): not sent again from here.
    var rejectedSeq: UInt64 = 0

    init(board: TokenBoardSlot) {
        self.board = RetainedRef(board)
    }

    /// True when the control loop published something since this view was taken.
    var isStale: Bool {
        board.with { $0.currentVersion } != version
    }

    /// Takes the board's current token (the lock of the slow path).
    mutating func refresh() {
        let (t, v) = board.with { $0.read() }
        token?.release()
        token = t.map { RetainedRef($0) }
        version = v
        seq = t?.seq ?? 0
        sendUntil = t?.sendUntil ?? 0
        refreshAt = t?.refreshAt ?? 0
        line = t?.headerLine.span ?? .empty
    }

    /// Marks the held token used ("used since its last fetch", DESIGN.md §5).
    func noteUse() {
        board.with { $0.noteUse(seq: seq) }
    }

    /// True the first time any loop asks for the held token: only that caller asks the control
    /// loop to refresh it.
    func claimRefreshRequest() -> Bool {
        guard let token else { return false }
        return token.with { !$0.refreshRequested.exchange(true, ordering: .relaxed) }
    }

    var lastErrorMessage: String? { board.with { $0.lastErrorMessage } }

    /// Drops both references (the buffer holding this view is going away).
    mutating func dispose() {
        token?.release()
        token = nil
        board.release()
    }
}
