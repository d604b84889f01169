/// A parsed request head as the phases see it: the parser's spans into the head buffer, the
/// kind of each header (filled in by `requestFilter`). Who sent it is `RequestContext.peer`.
struct RequestHead {
    let parser: HTTPParser
    /// One slot per header, valid while the head buffer is held.
    let kinds: UnsafeMutablePointer<HeaderKind>
}
